// SPDX-License-Identifier: GPL-2.0
/*
 * The socket API around a connection's queues, as TCP's: TCP_INQ and its
 * TCP_CM_INQ cmsg, SO_PEEK_OFF, TCP_NOTSENT_LOWAT (and its sysctl) in
 * poll(), send() and the write wakeups, TCP_WINDOW_CLAMP's checks and its
 * hold on the window, TCP_DEFER_ACCEPT's dropped bare ACKs and SYN-ACK
 * timing (DeferAcceptDrop), and SIOCINQ/SIOCOUTQ/SIOCOUTQNSD in the states
 * where they differ.  TCP is the specification: every test runs for TCP
 * and ESTP as fixture variants, those without the raw peer (fixture api46)
 * on IPv4, IPv6 and v4-mapped IPv6 too.  Where TCP's answer changed between the
 * kernels of the matrix (SO_PEEK_OFF came in 6.9), the estp variant also
 * asks a TCP socket of the running kernel and gives the same answer.
 *
 * Each test runs in a netns of its own (peer_open(); api46's without the
 * raw peer) with lo's MTU at 1500, so that segments and windows are those
 * of an Ethernet path; the raw peer plays the remote end where its
 * segments must be exact.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "kselftest_harness.h"
#include "estp_lib.h"
#include "estp_peer.h"

#ifndef SOL_TCP
#define SOL_TCP		IPPROTO_TCP
#endif
#ifndef SO_PEEK_OFF
#define SO_PEEK_OFF	42
#endif

#define LPORT		20000
/* A port nobody listens on, below 16384: its RSTs are dropped (peer_open()). */
#define DEAD_PORT	5000

FIXTURE(api)
{
	struct estp_peer peer;
	int fds[16];
	int nfds;
};

FIXTURE_VARIANTS_TCP_ESTP(api);

/* Installs the raw peer's RST filter for @proto too (the qdisc exists). */
static int filter_also(int proto)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "exec >/dev/null 2>&1; " PEER_TC_FILTER, proto);
	return system(cmd) == 0 ? 0 : -1;
}

FIXTURE_SETUP(api)
{
	const char *err;

	self->nfds = 0;
	err = peer_open(&self->peer, variant->proto);
	ASSERT_EQ(NULL, err) TH_LOG("raw peer: %s failed", err);
	/* The estp variant compares with a TCP twin in the same netns. */
	if (variant->proto != IPPROTO_TCP)
		ASSERT_EQ(0, filter_also(IPPROTO_TCP));
	ASSERT_EQ(0, estp_run("ip link set lo mtu 1500"));
}

static void api_end(FIXTURE_DATA(api) *self)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };
	int i;

	/* RSTs: no TIME_WAIT outlives the test. */
	for (i = 0; i < self->nfds; i++) {
		setsockopt(self->fds[i], SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		close(self->fds[i]);
	}
	peer_close(&self->peer);
}

FIXTURE_TEARDOWN(api)
{
	api_end(self);
}

/*
 * The family of the running test (enum estp_fam): api's are IPv4, as the
 * raw peer speaks IPv4 only (its tests, and opt_listener_syn_sent, whose
 * SYN_SENT relies on the peer's filter of IPv4 RSTs); api46's, the tests
 * without the raw peer, run on IPv4, IPv6 and v4-mapped IPv6.  Each test
 * runs in a process of its own, so the helpers read it from here.
 */
static int fam;

/*
 * api46's data is api's (the harness's struct for api46 is api's under
 * another name), so api's helpers serve it; no raw peer.
 */
#define _test_data_api46 _test_data_api
FIXTURE(api46);

FIXTURE_VARIANTS_FAMILIES(api46);

FIXTURE_SETUP(api46)
{
	self->nfds = 0;
	self->peer.raw = -1;
	self->peer.home = -1;
	fam = variant->fam;
	ASSERT_EQ(0, estp_netns_private());
	ASSERT_EQ(0, estp_run("ip link set lo mtu 1500"));
}

FIXTURE_TEARDOWN(api46)
{
	api_end(self);
}

/* Keeps @fd for the teardown: @fd. */
static int keep(FIXTURE_DATA(api) *self, int fd)
{
	if (fd >= 0 && self->nfds < (int)ARRAY_SIZE(self->fds))
		self->fds[self->nfds++] = fd;
	return fd;
}

static int set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val)) ? errno : 0;
}

/* getsockopt() of an int: 0 or errno; an int's length is checked. */
static int get_int(int fd, int level, int opt, int *val)
{
	socklen_t len = sizeof(*val);

	*val = INT_MIN;
	if (getsockopt(fd, level, opt, val, &len))
		return errno;
	return len == sizeof(*val) ? 0 : EMSGSIZE;
}

/* An int option's value, or INT_MIN when getsockopt() fails. */
static int opt_of(int fd, int opt)
{
	int val;

	return get_int(fd, SOL_TCP, opt, &val) ? INT_MIN : val;
}

/* ioctl(@cmd) of an int: the value, or -errno. */
static int ioctl_of(int fd, unsigned long cmd)
{
	int val = -1;

	return ioctl(fd, cmd, &val) ? -errno : val;
}

static int listener(FIXTURE_DATA(api) *self, int proto, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = estp_sockaddr(fam, PEER_ADDR, port, &ss);
	int fd = keep(self, estp_socket(proto, fam)), one = 1;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 8))
		return -1;
	return fd;
}

/* accept() once @lfd is readable within @ms: the socket, or -1. */
static int accept_in(FIXTURE_DATA(api) *self, int lfd, int ms)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	return keep(self, accept(lfd, NULL, NULL));
}

/* A connected pair of @proto through the listener @lfd on @port: 0 or -1. */
static int pair_on(FIXTURE_DATA(api) *self, int proto, int lfd, int port, int *cfd, int *afd)
{
	struct sockaddr_storage ss;
	socklen_t len = estp_sockaddr(fam, PEER_ADDR, port, &ss);

	*cfd = keep(self, estp_socket(proto, fam));
	if (*cfd < 0 || connect(*cfd, (struct sockaddr *)&ss, len))
		return -1;
	*afd = accept_in(self, lfd, 2000);
	return *afd < 0 ? -1 : 0;
}

static int pair(FIXTURE_DATA(api) *self, int proto, int port, int *cfd, int *afd)
{
	int lfd = listener(self, proto, port);

	return lfd < 0 ? -1 : pair_on(self, proto, lfd, port, cfd, afd);
}

/* A socket of @proto left in SYN_SENT (its SYN's RST is dropped): fd or -1. */
static int syn_sent(FIXTURE_DATA(api) *self, int proto)
{
	struct sockaddr_in sin = estp_sin4(PEER_ADDR, DEAD_PORT);
	int fd = keep(self, socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, proto));

	if (fd < 0 || !connect(fd, (struct sockaddr *)&sin, sizeof(sin)) || errno != EINPROGRESS)
		return -1;
	return fd;
}

/* poll()'s events of @fd among @events, now. */
static int events_of(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	return poll(&pfd, 1, 0) == 1 ? pfd.revents : 0;
}

/* Waits up to @ms for @fd to poll @events: the events seen. */
static int wait_events(int fd, short events, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	return poll(&pfd, 1, ms) == 1 ? pfd.revents : 0;
}

/* Waits up to @ms for SIOCINQ of @fd to reach @want: the last value. */
static int wait_inq(int fd, int want, int ms)
{
	long end = pkt_now_ms() + ms;
	int v;

	while ((v = ioctl_of(fd, SIOCINQ)) != want && pkt_now_ms() < end)
		usleep(2000);
	return v;
}

/* Waits up to @ms for @cmd of @fd to be @want: the last value. */
static int wait_ioctl(int fd, unsigned long cmd, int want, int ms)
{
	long end = pkt_now_ms() + ms;
	int v;

	while ((v = ioctl_of(fd, cmd)) != want && pkt_now_ms() < end)
		usleep(2000);
	return v;
}

/* Waits up to 2 s for counter @name of @proto to pass @from: its value. */
static long counter_after(int proto, const char *name, long from)
{
	long end = pkt_now_ms() + 2000, v;

	while ((v = estp_counter(proto, name)) == from && pkt_now_ms() < end)
		usleep(2000);
	return v;
}

/* DeferAcceptDrop, TcpExt's TCPDeferAcceptDrop for TCP. */
static const char *defer_name(int proto)
{
	return proto == IPPROTO_TCP ? "TCPDeferAcceptDrop" : "DeferAcceptDrop";
}

/*
 * The four options' checks on a fresh socket: lengths, ranges, what reads
 * back.  TCP_WINDOW_CLAMP takes at least SOCK_MIN_RCVBUF / 2, compared
 * unsigned, so that -1 is a huge clamp; TCP_DEFER_ACCEPT's seconds become
 * SYN-ACK timeouts (1, 3, 7, ... seconds), negative ones 0.
 */
TEST_F(api46, opt_values)
{
	static const struct { int opt, set, err, get; } c[] = {
		{ ESTP_INQ, 1, 0, 1 },
		{ ESTP_INQ, 2, EINVAL, 1 },
		{ ESTP_INQ, -1, EINVAL, 1 },
		{ ESTP_INQ, 0, 0, 0 },
		{ ESTP_NOTSENT_LOWAT, 12345, 0, 12345 },
		{ ESTP_NOTSENT_LOWAT, -1, 0, -1 },
		{ ESTP_NOTSENT_LOWAT, 0, 0, 0 },
		{ ESTP_WINDOW_CLAMP, 40000, 0, 40000 },
		{ ESTP_WINDOW_CLAMP, 0, 0, 0 },
		{ ESTP_DEFER_ACCEPT, 1, 0, 1 },
		{ ESTP_DEFER_ACCEPT, 2, 0, 3 },
		{ ESTP_DEFER_ACCEPT, 5, 0, 7 },
		{ ESTP_DEFER_ACCEPT, 100, 0, 127 },
		{ ESTP_DEFER_ACCEPT, -5, 0, 0 },
	};
	static const int opts[] = {
		ESTP_INQ, ESTP_NOTSENT_LOWAT, ESTP_WINDOW_CLAMP, ESTP_DEFER_ACCEPT,
	};
	int fd = keep(self, estp_socket(variant->proto, fam));
	int twin = keep(self, estp_socket(IPPROTO_TCP, fam));
	short shrt = 1;
	int i, val;

	ASSERT_LE(0, fd);
	ASSERT_LE(0, twin);
	for (i = 0; i < (int)ARRAY_SIZE(opts); i++) {
		EXPECT_EQ(0, get_int(fd, SOL_TCP, opts[i], &val));
		EXPECT_EQ(0, val) TH_LOG("option %d's default", opts[i]);
		EXPECT_EQ(-1, setsockopt(fd, SOL_TCP, opts[i], &shrt, sizeof(shrt)));
		EXPECT_EQ(EINVAL, errno) TH_LOG("option %d, 2 bytes", opts[i]);
	}
	for (i = 0; i < (int)ARRAY_SIZE(c); i++) {
		EXPECT_EQ(c[i].err, set_int(fd, SOL_TCP, c[i].opt, c[i].set))
			TH_LOG("option %d set %d", c[i].opt, c[i].set);
		EXPECT_EQ(c[i].get, opt_of(fd, c[i].opt))
			TH_LOG("option %d after set %d", c[i].opt, c[i].set);
	}
	/*
	 * Small clamps become SOCK_MIN_RCVBUF / 2, whose size is the kernel's;
	 * a negative one a huge clamp before 6.15, that least one since.
	 */
	ASSERT_EQ(0, set_int(twin, SOL_TCP, ESTP_WINDOW_CLAMP, 1));
	EXPECT_EQ(0, set_int(fd, SOL_TCP, ESTP_WINDOW_CLAMP, 1));
	EXPECT_EQ(opt_of(twin, ESTP_WINDOW_CLAMP), opt_of(fd, ESTP_WINDOW_CLAMP));
	EXPECT_LT(1000, opt_of(fd, ESTP_WINDOW_CLAMP));
	EXPECT_GT(4096, opt_of(fd, ESTP_WINDOW_CLAMP));
	ASSERT_EQ(0, set_int(twin, SOL_TCP, ESTP_WINDOW_CLAMP, -1));
	EXPECT_EQ(0, set_int(fd, SOL_TCP, ESTP_WINDOW_CLAMP, -1));
	EXPECT_EQ(opt_of(twin, ESTP_WINDOW_CLAMP), opt_of(fd, ESTP_WINDOW_CLAMP));
	TH_LOG("TCP_WINDOW_CLAMP -1 reads %d", opt_of(fd, ESTP_WINDOW_CLAMP));
	if (variant->proto == IPPROTO_ESTP) {
		/* The same options at SOL_ESTP. */
		EXPECT_EQ(0, set_int(fd, SOL_ESTP, ESTP_NOTSENT_LOWAT, 777));
		EXPECT_EQ(0, get_int(fd, SOL_ESTP, ESTP_NOTSENT_LOWAT, &val));
		EXPECT_EQ(777, val);
	}
}

/*
 * On a listener and in SYN_SENT the options read what was set; a clamp
 * cannot go back to 0 outside CLOSE.  In SYN_SENT TCP_WINDOW_CLAMP reads
 * what the SYN's window was chosen under, TCP's value for the same buffer.
 * A child starts without the listener's TCP_DEFER_ACCEPT but with its
 * clamp, TCP_INQ and TCP_NOTSENT_LOWAT.
 */
TEST_F(api, opt_listener_syn_sent)
{
	struct sockaddr_in dead = estp_sin4(PEER_ADDR, DEAD_PORT);
	int lfd = listener(self, variant->proto, LPORT), sfd, twin, cfd, afd, fd;

	ASSERT_LE(0, lfd);
	EXPECT_EQ(0, set_int(lfd, SOL_TCP, ESTP_DEFER_ACCEPT, 2));
	EXPECT_EQ(0, set_int(lfd, SOL_TCP, ESTP_WINDOW_CLAMP, 30000));
	EXPECT_EQ(0, set_int(lfd, SOL_TCP, ESTP_INQ, 1));
	EXPECT_EQ(0, set_int(lfd, SOL_TCP, ESTP_NOTSENT_LOWAT, 5000));
	EXPECT_EQ(EINVAL, set_int(lfd, SOL_TCP, ESTP_WINDOW_CLAMP, 0));
	EXPECT_EQ(3, opt_of(lfd, ESTP_DEFER_ACCEPT));
	EXPECT_EQ(30000, opt_of(lfd, ESTP_WINDOW_CLAMP));
	EXPECT_EQ(1, opt_of(lfd, ESTP_INQ));
	EXPECT_EQ(5000, opt_of(lfd, ESTP_NOTSENT_LOWAT));

	/* The client's bare ACK is not dropped for lack of data: it sends some. */
	ASSERT_EQ(0, set_int(lfd, SOL_TCP, ESTP_DEFER_ACCEPT, 0));
	ASSERT_EQ(0, pair_on(self, variant->proto, lfd, LPORT, &cfd, &afd));
	EXPECT_EQ(0, opt_of(afd, ESTP_DEFER_ACCEPT));
	EXPECT_EQ(30000, opt_of(afd, ESTP_WINDOW_CLAMP));
	EXPECT_EQ(1, opt_of(afd, ESTP_INQ));
	EXPECT_EQ(5000, opt_of(afd, ESTP_NOTSENT_LOWAT));
	EXPECT_EQ(EINVAL, set_int(afd, SOL_TCP, ESTP_WINDOW_CLAMP, 0));

	sfd = syn_sent(self, variant->proto);
	twin = syn_sent(self, IPPROTO_TCP);
	ASSERT_LE(0, sfd);
	ASSERT_LE(0, twin);
	EXPECT_EQ(0, opt_of(sfd, ESTP_DEFER_ACCEPT));
	EXPECT_EQ(0, opt_of(sfd, ESTP_INQ));
	EXPECT_EQ(0, opt_of(sfd, ESTP_NOTSENT_LOWAT));
	EXPECT_EQ(opt_of(twin, ESTP_WINDOW_CLAMP), opt_of(sfd, ESTP_WINDOW_CLAMP));
	EXPECT_LT(0, opt_of(sfd, ESTP_WINDOW_CLAMP));
	EXPECT_EQ(EINVAL, set_int(sfd, SOL_TCP, ESTP_WINDOW_CLAMP, 0));
	EXPECT_EQ(0, set_int(sfd, SOL_TCP, ESTP_WINDOW_CLAMP, 20000));
	EXPECT_EQ(20000, opt_of(sfd, ESTP_WINDOW_CLAMP));
	EXPECT_EQ(0, set_int(sfd, SOL_TCP, ESTP_INQ, 1));
	EXPECT_EQ(1, opt_of(sfd, ESTP_INQ));
	EXPECT_EQ(0, set_int(sfd, SOL_TCP, ESTP_DEFER_ACCEPT, 1));
	EXPECT_EQ(1, opt_of(sfd, ESTP_DEFER_ACCEPT));

	/* A clamp set before connect() is the SYN's, as TCP keeps it. */
	fd = keep(self, socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, variant->proto));
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_int(fd, SOL_TCP, ESTP_WINDOW_CLAMP, 12345));
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&dead, sizeof(dead)));
	EXPECT_EQ(12345, opt_of(fd, ESTP_WINDOW_CLAMP));
}

/* recvmsg() of up to @len bytes: the bytes, or -errno; *@inq the cmsg's or -1. */
static int recv_inq(int fd, char *buf, size_t len, int flags, int *inq)
{
	union {
		char buf[CMSG_SPACE(sizeof(int)) * 2];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;
	ssize_t n = recvmsg(fd, &msg, flags);

	*inq = -1;
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_TCP && cm->cmsg_type == ESTP_CM_INQ &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(inq, CMSG_DATA(cm), sizeof(int));
	return n;
}

/*
 * TCP_INQ: each recvmsg() carries a TCP_CM_INQ cmsg (level SOL_TCP) with
 * the bytes left; once the peer's FIN is in, it counts the FIN, and reads
 * at least 1 to the end, while SIOCINQ does not count it.  Without the
 * option, no cmsg.
 */
TEST_F(api46, inq_cmsg)
{
	char buf[64];
	int cfd, afd, inq;

	ASSERT_EQ(0, pair(self, variant->proto, LPORT, &cfd, &afd));
	ASSERT_EQ(10, send(cfd, "0123456789", 10, 0));
	ASSERT_EQ(10, wait_inq(afd, 10, 2000));
	EXPECT_EQ(2, recv_inq(afd, buf, 2, 0, &inq));
	EXPECT_EQ(-1, inq);
	ASSERT_EQ(0, set_int(afd, SOL_TCP, ESTP_INQ, 1));
	EXPECT_EQ(2, recv_inq(afd, buf, 2, 0, &inq));
	EXPECT_EQ(6, inq);
	EXPECT_EQ(3, recv_inq(afd, buf, 3, MSG_PEEK, &inq));
	EXPECT_EQ(6, inq);
	ASSERT_EQ(0, shutdown(cfd, SHUT_WR));
	ASSERT_EQ(POLLRDHUP, wait_events(afd, POLLRDHUP, 2000));
	EXPECT_EQ(6, ioctl_of(afd, SIOCINQ));
	EXPECT_EQ(4, recv_inq(afd, buf, 4, 0, &inq));
	EXPECT_EQ(3, inq);	/* 2 bytes and the FIN */
	EXPECT_EQ(2, recv_inq(afd, buf, sizeof(buf), 0, &inq));
	EXPECT_EQ(1, inq);
	EXPECT_EQ(0, ioctl_of(afd, SIOCINQ));
	EXPECT_EQ(0, recv_inq(afd, buf, sizeof(buf), 0, &inq));
	EXPECT_EQ(1, inq);
	ASSERT_EQ(0, set_int(afd, SOL_TCP, ESTP_INQ, 0));
	EXPECT_EQ(0, recv_inq(afd, buf, sizeof(buf), 0, &inq));
	EXPECT_EQ(-1, inq);
}

/* A peek of @len bytes compared with @want: 1 when equal. */
static int peeks(int fd, const char *want, size_t len)
{
	char buf[32] = "";

	return recv(fd, buf, len, MSG_PEEK | MSG_DONTWAIT) == (ssize_t)len &&
	       !memcmp(buf, want, len);
}

/*
 * SO_PEEK_OFF: where TCP takes it (6.9 and later), MSG_PEEK starts at the
 * offset and moves it on, a read moves it back, -1 turns it off; where
 * TCP refuses it with EOPNOTSUPP, so does ESTP.
 */
TEST_F(api46, peek_off)
{
	int twin = keep(self, estp_socket(IPPROTO_TCP, fam));
	int cfd, afd, err, val;
	char buf[8];

	ASSERT_LE(0, twin);
	ASSERT_EQ(0, pair(self, variant->proto, LPORT, &cfd, &afd));
	err = set_int(afd, SOL_SOCKET, SO_PEEK_OFF, 0);
	EXPECT_EQ(set_int(twin, SOL_SOCKET, SO_PEEK_OFF, 0), err);
	if (err) {
		EXPECT_EQ(EOPNOTSUPP, err);
		EXPECT_EQ(EOPNOTSUPP, get_int(afd, SOL_SOCKET, SO_PEEK_OFF, &val));
		return;
	}
	EXPECT_EQ(0, get_int(afd, SOL_SOCKET, SO_PEEK_OFF, &val));
	EXPECT_EQ(0, val);
	ASSERT_EQ(10, send(cfd, "0123456789", 10, 0));
	ASSERT_EQ(10, wait_inq(afd, 10, 2000));
	EXPECT_TRUE(peeks(afd, "012", 3));
	EXPECT_TRUE(peeks(afd, "345", 3));
	EXPECT_EQ(0, get_int(afd, SOL_SOCKET, SO_PEEK_OFF, &val));
	EXPECT_EQ(6, val);
	ASSERT_EQ(2, recv(afd, buf, 2, 0));
	EXPECT_EQ(0, memcmp(buf, "01", 2));
	EXPECT_EQ(0, get_int(afd, SOL_SOCKET, SO_PEEK_OFF, &val));
	EXPECT_EQ(4, val);
	EXPECT_TRUE(peeks(afd, "67", 2));
	/* What is left after the offset, then nothing to peek yet. */
	EXPECT_EQ(2, recv(afd, buf, 4, MSG_PEEK | MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(buf, "89", 2));
	EXPECT_EQ(0, get_int(afd, SOL_SOCKET, SO_PEEK_OFF, &val));
	EXPECT_EQ(8, val);
	EXPECT_EQ(-1, recv(afd, buf, 4, MSG_PEEK | MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, set_int(afd, SOL_SOCKET, SO_PEEK_OFF, -1));
	EXPECT_TRUE(peeks(afd, "234", 3));
	EXPECT_TRUE(peeks(afd, "234", 3));
	EXPECT_EQ(0, get_int(afd, SOL_SOCKET, SO_PEEK_OFF, &val));
	EXPECT_EQ(-1, val);
}

/* A data segment of @len zero bytes (and @flags) from the raw peer on @c. */
static int peer_data(struct estp_peer *p, struct peer_conn *c, int len, uint8_t flags)
{
	struct pkt_seg s = peer_seg(c, PKT_ACK | flags);

	s.len = PKT_HDR_LEN + len;
	if (peer_send(p, &s))
		return -1;
	c->seq += len + !!(flags & PKT_FIN);
	return 0;
}

/*
 * A connection of the raw peer to a listener of @proto on @port whose
 * final ACK offers @win: the accepted socket, or -1.  With a window of 0
 * what the socket is given to send stays unsent until the peer opens it.
 */
static int peer_pair(FIXTURE_DATA(api) *self, int proto, struct peer_conn *c,
		     uint16_t port, uint16_t peer_port, uint16_t win)
{
	int lfd = listener(self, proto, port);
	struct pkt_seg s;

	if (lfd < 0 || peer_syn(&self->peer, c, peer_port, port, 7000, 1460) != 1 ||
	    c->synack.flags != (PKT_SYN | PKT_ACK))
		return -1;
	s = peer_seg(c, PKT_ACK);
	s.win = win;
	if (peer_send(&self->peer, &s))
		return -1;
	return accept_in(self, lfd, 2000);
}

/* The raw peer acknowledges nothing new and opens its window. */
static int peer_open_window(FIXTURE_DATA(api) *self, const struct peer_conn *c)
{
	struct pkt_seg s = peer_seg(c, PKT_ACK);

	return peer_send(&self->peer, &s);
}

/*
 * TCP_NOTSENT_LOWAT: poll() says writable while twice the unsent bytes are
 * below the mark; send() may start a new segment while they are below it
 * (here after MSG_EOR, which no byte may join), else EAGAIN.  The peer's
 * closed window keeps the bytes unsent.
 */
TEST_F(api, notsent_lowat)
{
	struct peer_conn c;
	char data[100] = "";
	int fd;

	fd = peer_pair(self, variant->proto, &c, LPORT, 1200, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(POLLOUT, events_of(fd, POLLOUT));
	ASSERT_EQ(100, send(fd, data, 100, MSG_EOR | MSG_DONTWAIT));
	EXPECT_EQ(100, ioctl_of(fd, SIOCOUTQNSD));
	ASSERT_EQ(0, set_int(fd, SOL_TCP, ESTP_NOTSENT_LOWAT, 200));
	EXPECT_EQ(0, events_of(fd, POLLOUT));
	ASSERT_EQ(0, set_int(fd, SOL_TCP, ESTP_NOTSENT_LOWAT, 201));
	EXPECT_EQ(POLLOUT, events_of(fd, POLLOUT));
	ASSERT_EQ(0, set_int(fd, SOL_TCP, ESTP_NOTSENT_LOWAT, 150));
	EXPECT_EQ(0, events_of(fd, POLLOUT));
	/* 100 unsent < 150: a writer may still go on. */
	EXPECT_EQ(10, send(fd, data, 10, MSG_DONTWAIT | MSG_EOR));
	ASSERT_EQ(0, set_int(fd, SOL_TCP, ESTP_NOTSENT_LOWAT, 110));
	EXPECT_EQ(-1, send(fd, data, 10, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(110, ioctl_of(fd, SIOCOUTQNSD));
	/* 0: net.ipv4.tcp_notsent_lowat's UINT_MAX. */
	ASSERT_EQ(0, set_int(fd, SOL_TCP, ESTP_NOTSENT_LOWAT, 0));
	EXPECT_EQ(POLLOUT, events_of(fd, POLLOUT));
	EXPECT_EQ(10, send(fd, data, 10, MSG_DONTWAIT));
	/*
	 * The window opens: all but the last small segment go, which Nagle
	 * holds behind them (only the queue's last waits, as TCP's).
	 */
	ASSERT_EQ(0, set_int(fd, SOL_TCP, ESTP_NOTSENT_LOWAT, 1));
	EXPECT_EQ(0, events_of(fd, POLLOUT));
	ASSERT_EQ(0, peer_open_window(self, &c));
	EXPECT_EQ(10, wait_ioctl(fd, SIOCOUTQNSD, 10, 2000));
	EXPECT_EQ(120, ioctl_of(fd, SIOCOUTQ));
	EXPECT_EQ(0, events_of(fd, POLLOUT));
	/* Acknowledged: the last goes, and it is writable under the smallest mark. */
	c.ack += 110;
	ASSERT_EQ(0, peer_open_window(self, &c));
	EXPECT_EQ(0, wait_ioctl(fd, SIOCOUTQNSD, 0, 2000));
	EXPECT_EQ(10, ioctl_of(fd, SIOCOUTQ));
	EXPECT_EQ(POLLOUT, events_of(fd, POLLOUT));
}

/* The namesake sysctl is the default of every socket that sets no mark. */
TEST_F(api, notsent_lowat_sysctl)
{
	const char *path = variant->proto == IPPROTO_TCP ?
			   "/proc/sys/net/ipv4/tcp_notsent_lowat" :
			   "/proc/sys/net/estp/notsent_lowat";
	char old[32], data[100] = "";
	struct peer_conn c;
	int fd;

	ASSERT_EQ(0, peer_sysctl(path, old, sizeof(old), "150"));
	EXPECT_STREQ("4294967295", old);
	fd = peer_pair(self, variant->proto, &c, LPORT, 1201, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, opt_of(fd, ESTP_NOTSENT_LOWAT));
	ASSERT_EQ(100, send(fd, data, 100, MSG_EOR | MSG_DONTWAIT));
	EXPECT_EQ(0, events_of(fd, POLLOUT));
	EXPECT_EQ(EINVAL, peer_sysctl(path, NULL, 0, "-1"));
	ASSERT_EQ(0, peer_sysctl(path, NULL, 0, "201"));
	EXPECT_EQ(POLLOUT, events_of(fd, POLLOUT));
	/* The socket's own mark wins. */
	ASSERT_EQ(0, set_int(fd, SOL_TCP, ESTP_NOTSENT_LOWAT, 100));
	EXPECT_EQ(0, events_of(fd, POLLOUT));
}

struct writer {
	int fd;
	ssize_t ret;
	int err;
};

/* A poll() for POLLOUT of up to 5 s: its events in ret. */
static void *poll_out(void *arg)
{
	struct writer *w = arg;
	struct pollfd pfd = { .fd = w->fd, .events = POLLOUT };

	w->ret = poll(&pfd, 1, 5000) == 1 ? pfd.revents : 0;
	return NULL;
}

static void *blocking_send(void *arg)
{
	struct writer *w = arg;
	char data[10] = "";

	w->ret = send(w->fd, data, sizeof(data), 0);
	w->err = w->ret < 0 ? errno : 0;
	return NULL;
}

/*
 * The wakeups: a poll() waiting for POLLOUT wakes once the mark is
 * raised; a writer blocked by the mark once the unsent bytes leave (the
 * peer opens its window).
 */
TEST_F(api, notsent_lowat_wakeup)
{
	struct timeval tv = { .tv_sec = 5 };
	struct writer w = { .ret = -2 };
	struct peer_conn c;
	char data[100] = "";
	pthread_t th;
	long t0;
	int fd;

	fd = peer_pair(self, variant->proto, &c, LPORT, 1202, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	ASSERT_EQ(100, send(fd, data, 100, MSG_EOR));
	ASSERT_EQ(0, set_int(fd, SOL_TCP, ESTP_NOTSENT_LOWAT, 50));
	EXPECT_EQ(0, events_of(fd, POLLOUT));
	w.fd = fd;
	ASSERT_EQ(0, pthread_create(&th, NULL, poll_out, &w));
	usleep(100000);
	t0 = pkt_now_ms();
	ASSERT_EQ(0, set_int(fd, SOL_TCP, ESTP_NOTSENT_LOWAT, 1000));
	pthread_join(th, NULL);
	EXPECT_EQ(POLLOUT, w.ret);
	EXPECT_GT(3000, pkt_now_ms() - t0);

	ASSERT_EQ(0, set_int(fd, SOL_TCP, ESTP_NOTSENT_LOWAT, 50));
	w.ret = -2;
	ASSERT_EQ(0, pthread_create(&th, NULL, blocking_send, &w));
	/* It waits: nothing more is queued while the window is closed. */
	EXPECT_EQ(100, wait_ioctl(fd, SIOCOUTQNSD, 110, 200));
	t0 = pkt_now_ms();
	ASSERT_EQ(0, peer_open_window(self, &c));
	pthread_join(th, NULL);
	EXPECT_EQ(10, w.ret) TH_LOG("errno %d", w.err);
	EXPECT_GT(3000, pkt_now_ms() - t0);
	EXPECT_EQ(110, ioctl_of(fd, SIOCOUTQ));
}

/*
 * TCP_WINDOW_CLAMP on a listener is the child's: its SYN-ACK offers no
 * more (in whole segments), nor do its ACKs; a fixed SO_RCVBUF clamps the
 * window to the buffer's payload.  On the connection a clamp may grow or
 * shrink but not go back to 0, and connect(AF_UNSPEC) forgets it.
 */
TEST_F(api, window_clamp)
{
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	int lfd = listener(self, variant->proto, LPORT), afd;
	struct peer_conn c;
	struct pkt_seg r;

	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, set_int(lfd, SOL_TCP, ESTP_WINDOW_CLAMP, 10000));
	ASSERT_EQ(1, peer_syn(&self->peer, &c, 1300, LPORT, 9000, 1460));
	ASSERT_EQ(PKT_SYN | PKT_ACK, c.synack.flags);
	TH_LOG("SYN-ACK window %u under a clamp of 10000", c.synack.win);
	EXPECT_GE(10000, c.synack.win);
	EXPECT_LE(10000 - 1460, c.synack.win);
	ASSERT_EQ(0, peer_ack(&self->peer, &c));
	afd = accept_in(self, lfd, 2000);
	ASSERT_LE(0, afd);
	EXPECT_EQ(10000, opt_of(afd, ESTP_WINDOW_CLAMP));
	ASSERT_EQ(0, peer_data(&self->peer, &c, 50, PKT_PSH));
	do {
		ASSERT_EQ(1, peer_recv(&self->peer, &c, 2000, &r));
	} while (r.ack != c.seq);
	EXPECT_GE(10000, r.win);
	EXPECT_EQ(EINVAL, set_int(afd, SOL_TCP, ESTP_WINDOW_CLAMP, 0));
	EXPECT_EQ(0, set_int(afd, SOL_TCP, ESTP_WINDOW_CLAMP, 50000));
	EXPECT_EQ(50000, opt_of(afd, ESTP_WINDOW_CLAMP));
	EXPECT_EQ(0, set_int(afd, SOL_TCP, ESTP_WINDOW_CLAMP, 5000));
	EXPECT_EQ(5000, opt_of(afd, ESTP_WINDOW_CLAMP));
	EXPECT_EQ(0, connect(afd, &unspec, sizeof(unspec)));
	EXPECT_EQ(0, opt_of(afd, ESTP_WINDOW_CLAMP));
}

/*
 * SO_RCVLOWAT grows the buffer and may raise the clamp: as the running
 * kernel's TCP does (the rule changed between kernels).
 */
TEST_F(api46, rcvlowat_clamp)
{
	int fd = keep(self, estp_socket(variant->proto, fam));
	int twin = keep(self, estp_socket(IPPROTO_TCP, fam));
	int i;

	ASSERT_LE(0, fd);
	ASSERT_LE(0, twin);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, set_int(twin, SOL_SOCKET, SO_RCVLOWAT, 200000 + i));
		ASSERT_EQ(0, set_int(fd, SOL_SOCKET, SO_RCVLOWAT, 200000 + i));
		EXPECT_EQ(opt_of(twin, ESTP_WINDOW_CLAMP), opt_of(fd, ESTP_WINDOW_CLAMP))
			TH_LOG("round %d", i);
		ASSERT_EQ(0, set_int(twin, SOL_TCP, ESTP_WINDOW_CLAMP, 30000));
		ASSERT_EQ(0, set_int(fd, SOL_TCP, ESTP_WINDOW_CLAMP, 30000));
	}
}

/*
 * TCP_DEFER_ACCEPT of 3 s (2 SYN-ACK timeouts): the bare final ACK is
 * dropped (DeferAcceptDrop), the request stays and accept() waits; the
 * SYN-ACK is not resent at the first timeout (1 s) but at the second
 * (3 s); data makes the connection, which accept() returns with it.
 */
TEST_F(api, defer_accept_data)
{
	int lfd = listener(self, variant->proto, LPORT), afd;
	long drops = estp_counter(variant->proto, defer_name(variant->proto)), t0;
	struct peer_conn c;
	struct pkt_seg r;
	char buf[32];

	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, set_int(lfd, SOL_TCP, ESTP_DEFER_ACCEPT, 3));
	ASSERT_EQ(0, fcntl(lfd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(0, peer_connect(&self->peer, &c, 1100, LPORT, 1000));
	t0 = pkt_now_ms();
	ASSERT_LE(0, drops);
	EXPECT_EQ(drops + 1, counter_after(variant->proto, defer_name(variant->proto), drops));
	EXPECT_EQ(1, peer_rows(variant->proto, LPORT, 1100, PEER_ST_SYN_RECV, NULL));
	EXPECT_EQ(-1, accept(lfd, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	/* Another bare ACK: dropped too. */
	ASSERT_EQ(0, peer_ack(&self->peer, &c));
	EXPECT_EQ(drops + 2, counter_after(variant->proto, defer_name(variant->proto),
					   drops + 1));
	/* The SYN-ACK again: at the second timeout, not the first. */
	ASSERT_EQ(1, peer_recv(&self->peer, &c, 5000, &r));
	EXPECT_EQ(PKT_SYN | PKT_ACK, r.flags);
	EXPECT_LE(2500, pkt_now_ms() - t0) TH_LOG("SYN-ACK again after %ld ms",
						  pkt_now_ms() - t0);
	EXPECT_EQ(-1, accept(lfd, NULL, NULL));
	ASSERT_EQ(0, peer_data(&self->peer, &c, 10, PKT_PSH));
	afd = accept_in(self, lfd, 2000);
	ASSERT_LE(0, afd);
	EXPECT_EQ(10, wait_inq(afd, 10, 2000));
	EXPECT_EQ(10, recv(afd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(drops + 2, estp_counter(variant->proto, defer_name(variant->proto)));
}

/*
 * A deferred request whose data never comes: with tcp_synack_retries 1 and
 * TCP_DEFER_ACCEPT 1 s, the SYN-ACK goes again at 1 s, the request is
 * dropped silently at 3 s, and the peer's data after that gets a RST.
 */
TEST_F(api, defer_accept_expire)
{
	const char *knob = variant->proto == IPPROTO_TCP ?
			   "/proc/sys/net/ipv4/tcp_synack_retries" :
			   "/proc/sys/net/estp/synack_retries";
	int lfd = listener(self, variant->proto, LPORT);
	struct peer_conn c;
	struct pkt_seg r;
	long t0;

	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, peer_sysctl(knob, NULL, 0, "1"));
	ASSERT_EQ(0, set_int(lfd, SOL_TCP, ESTP_DEFER_ACCEPT, 1));
	ASSERT_EQ(0, fcntl(lfd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(0, peer_connect(&self->peer, &c, 1101, LPORT, 5000));
	t0 = pkt_now_ms();
	ASSERT_EQ(1, peer_recv(&self->peer, &c, 3000, &r));
	EXPECT_EQ(PKT_SYN | PKT_ACK, r.flags);
	EXPECT_LE(800, pkt_now_ms() - t0);
	EXPECT_EQ(-1, accept(lfd, NULL, NULL));
	EXPECT_EQ(0, peer_wait_rows(variant->proto, LPORT, 1101, -1, 0, 5000));
	EXPECT_LE(2500, pkt_now_ms() - t0);
	EXPECT_EQ(-1, accept(lfd, NULL, NULL));
	ASSERT_EQ(0, peer_data(&self->peer, &c, 10, PKT_PSH));
	ASSERT_EQ(1, peer_recv(&self->peer, &c, 2000, &r));
	EXPECT_EQ(PKT_RST, r.flags & PKT_RST);
}

/*
 * The queue ioctls where they differ: a listener has no queues (EINVAL),
 * a sock in SYN_SENT empty ones; then, against the raw peer, data unsent
 * for a closed window, sent but unacknowledged, partly acknowledged, a FIN
 * counted as a byte until acknowledged, and received data without the
 * peer's FIN.
 */
TEST_F(api, sioc_queues)
{
	int lfd = listener(self, variant->proto, LPORT), sfd, afd;
	static const unsigned long cmds[] = { SIOCINQ, SIOCOUTQ, SIOCOUTQNSD };
	char data[100] = "", buf[64];
	struct peer_conn c;
	struct pkt_seg s, r;
	int i;

	ASSERT_LE(0, lfd);
	sfd = syn_sent(self, variant->proto);
	ASSERT_LE(0, sfd);
	for (i = 0; i < (int)ARRAY_SIZE(cmds); i++) {
		EXPECT_EQ(-EINVAL, ioctl_of(lfd, cmds[i]));
		EXPECT_EQ(0, ioctl_of(sfd, cmds[i]));
	}
	/* The final ACK closes the window. */
	ASSERT_EQ(1, peer_syn(&self->peer, &c, 1102, LPORT, 7000, 1460));
	ASSERT_EQ(PKT_SYN | PKT_ACK, c.synack.flags);
	s = peer_seg(&c, PKT_ACK);
	s.win = 0;
	ASSERT_EQ(0, peer_send(&self->peer, &s));
	afd = accept_in(self, lfd, 2000);
	ASSERT_LE(0, afd);
	for (i = 0; i < (int)ARRAY_SIZE(cmds); i++)
		EXPECT_EQ(0, ioctl_of(afd, cmds[i]));
	ASSERT_EQ(100, send(afd, data, 100, 0));
	EXPECT_EQ(100, ioctl_of(afd, SIOCOUTQ));
	EXPECT_EQ(100, ioctl_of(afd, SIOCOUTQNSD));
	/* The window opens: sent, not acknowledged. */
	s = peer_seg(&c, PKT_ACK);
	ASSERT_EQ(0, peer_send(&self->peer, &s));
	do {
		ASSERT_EQ(1, peer_recv(&self->peer, &c, 2000, &r));
	} while (r.seg_len - r.hdr_len != 100);
	EXPECT_EQ(100, ioctl_of(afd, SIOCOUTQ));
	EXPECT_EQ(0, ioctl_of(afd, SIOCOUTQNSD));
	s.ack = c.ack + 40;
	ASSERT_EQ(0, peer_send(&self->peer, &s));
	EXPECT_EQ(60, wait_ioctl(afd, SIOCOUTQ, 60, 2000));
	/* The FIN is a byte of the queue until acknowledged. */
	ASSERT_EQ(0, shutdown(afd, SHUT_WR));
	EXPECT_EQ(61, ioctl_of(afd, SIOCOUTQ));
	EXPECT_EQ(0, ioctl_of(afd, SIOCOUTQNSD));
	s.ack = c.ack + 101;
	ASSERT_EQ(0, peer_send(&self->peer, &s));
	EXPECT_EQ(0, wait_ioctl(afd, SIOCOUTQ, 0, 2000));
	/* Received: 10 bytes and the peer's FIN, which SIOCINQ leaves out. */
	c.ack += 101;
	ASSERT_EQ(0, peer_data(&self->peer, &c, 10, PKT_FIN));
	EXPECT_EQ(10, wait_inq(afd, 10, 2000));
	EXPECT_EQ(4, recv(afd, buf, 4, 0));
	EXPECT_EQ(6, ioctl_of(afd, SIOCINQ));
	EXPECT_EQ(6, recv(afd, buf, sizeof(buf), 0));
	EXPECT_EQ(0, ioctl_of(afd, SIOCINQ));
	EXPECT_EQ(0, ioctl_of(afd, SIOCOUTQ));
	EXPECT_EQ(0, ioctl_of(afd, SIOCOUTQNSD));
}

ESTP_HARNESS_MAIN("opt_values", "inq_cmsg")
