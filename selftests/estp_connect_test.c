// SPDX-License-Identifier: GPL-2.0
/*
 * connect() without data: refused, unreachable and timed-out connects,
 * EALREADY/EISCONN, the states in /proc/net/{tcp,estp}, accept4() flags and
 * connect(AF_UNSPEC), ephemeral ports running out, and SYNs a full accept
 * queue drops.  TCP is the specification: every TEST_F runs for TCP and ESTP
 * as fixture variants and asserts what TCP does, on IPv4, IPv6 and v4-mapped
 * IPv6 but for the blackhole's, which count IPv4 SYNs on the wire.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>

#include "kselftest_harness.h"
#include "estp_lib.h"
#include "estp_pkt.h"

/* Fixed ports below ip_local_port_range, apart from estp_bind_test's. */
#define PORT_BASE	20100

/*
 * The blackhole: a veth pair in a netns of the test's own.  A permanent
 * neighbour entry skips ARP (whose failure would end the connect with
 * EHOSTUNREACH) and names a MAC address the other end does not have: what
 * we send arrives there for another host, and is dropped before IP looks at
 * it, so a SYN is never answered, not even by an ICMP error.  A packet
 * socket on that end sees each SYN.
 */
#define BH_DEV		"estp-bh0"
#define BH_PEER		"estp-bh1"
#define BH_LOCAL	"10.199.0.1"
#define BH_REMOTE	"10.199.0.2"
#define BH_REMOTE_MAC	"02:00:00:00:00:02"
#define BH_PEER_MAC	"02:00:00:00:00:03"

/* connect() to @ip:@port (IPv4, in @fam's form: estp_sockaddr()): 0 or errno. */
static int try_connect(int fd, int fam, const char *ip, int port)
{
	return estp_connect_errno(fd, fam, ip, port);
}

static int set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* getpeername(): 0 or errno. */
static int peer_errno(int fd)
{
	struct sockaddr_storage sin;
	socklen_t len = sizeof(sin);

	return getpeername(fd, (struct sockaddr *)&sin, &len) ? errno : 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

FIXTURE(conn)
{
	int fd, lfd, afd;
};

FIXTURE_VARIANTS_FAMILIES(conn);

FIXTURE_SETUP(conn)
{
	self->lfd = -1;
	self->afd = -1;
	self->fd = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, self->fd) TH_LOG("socket: %s", strerror(errno));
}

/*
 * Closes with a RST rather than a FIN exchange: no data is tested here, and
 * no TIME_WAIT is left behind to outlive the test.
 */
static void close_abort(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

FIXTURE_TEARDOWN(conn)
{
	close_abort(self->afd);
	close_abort(self->fd);
	if (self->lfd >= 0)
		close(self->lfd);
}

/* A listener of @proto on 127.0.0.1:@port in @fam, in self->lfd. */
static void listen_on(struct __test_metadata *_metadata,
		      FIXTURE_DATA(conn) *self, int proto, int fam, int port)
{
	self->lfd = estp_socket(proto, fam);
	ASSERT_LE(0, self->lfd) TH_LOG("socket: %s", strerror(errno));
	ASSERT_EQ(0, estp_bind_errno(self->lfd, fam, "127.0.0.1", port));
	ASSERT_EQ(0, listen(self->lfd, 8));
}

TEST_F(conn, refused)
{
	/* Nothing listens there: the SYN is answered with a RST. */
	EXPECT_EQ(ECONNREFUSED, try_connect(self->fd, variant->fam, "127.0.0.1", PORT_BASE + 1));
	EXPECT_EQ(-1, estp_proc_state(variant->proto, -1, PORT_BASE + 1));
	/* The error was returned, not left pending. */
	EXPECT_EQ(0, estp_so_error(self->fd));
}

TEST_F(conn, refused_nonblock)
{
	struct pollfd pfd = {
		.fd = self->fd,
		.events = POLLIN | POLLOUT | POLLRDHUP | POLLPRI,
	};

	ASSERT_EQ(0, set_nonblock(self->fd));
	/*
	 * Even on loopback: the RST arrives while connect() owns the socket,
	 * waits in its backlog and is handled once connect() has returned.
	 */
	EXPECT_EQ(EINPROGRESS, try_connect(self->fd, variant->fam, "127.0.0.1", PORT_BASE + 2));
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	/* A reset socket is closed both ways: readable, writable, hung up, error. */
	EXPECT_EQ(POLLIN | POLLOUT | POLLRDHUP | POLLERR | POLLHUP, pfd.revents);
	EXPECT_EQ(ECONNREFUSED, estp_so_error(self->fd));
	/* Reading SO_ERROR clears it, and POLLERR with it. */
	EXPECT_EQ(0, estp_so_error(self->fd));
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLIN | POLLOUT | POLLRDHUP | POLLHUP, pfd.revents);
	/* The failed connect left nothing connected. */
	EXPECT_EQ(ENOTCONN, peer_errno(self->fd));
	EXPECT_EQ(-1, estp_proc_state(variant->proto, -1, PORT_BASE + 2));
}

/* After a refused connect the socket can connect again. */
TEST_F(conn, connect_after_refused)
{
	const int port = PORT_BASE + 3;

	EXPECT_EQ(ECONNREFUSED, try_connect(self->fd, variant->fam, "127.0.0.1", port));
	listen_on(_metadata, self, variant->proto, variant->fam, port);
	EXPECT_EQ(0, try_connect(self->fd, variant->fam, "127.0.0.1", port));
	EXPECT_EQ(ST_ESTABLISHED, estp_proc_state(variant->proto, estp_local_port(self->fd), port));
}

TEST_F(conn, no_route)
{
	/* 198.51.100.0/24 (TEST-NET-2): the guest has no default route. */
	EXPECT_EQ(ENETUNREACH, try_connect(self->fd, variant->fam, "198.51.100.1", PORT_BASE + 4));
	EXPECT_EQ(0, estp_so_error(self->fd));
	/* Nothing was bound on the way. */
	EXPECT_EQ(0, estp_local_port(self->fd));
	ASSERT_EQ(0, set_nonblock(self->fd));
	/* Routing fails before any SYN: even non-blocking, the error is immediate. */
	EXPECT_EQ(ENETUNREACH, try_connect(self->fd, variant->fam, "198.51.100.1", PORT_BASE + 4));
}

TEST_F(conn, established)
{
	const int port = PORT_BASE + 5;
	struct sockaddr_storage cpeer, cname, apeer, aname, from, lo;
	socklen_t len;
	struct pollfd pfd;
	int flags, cport;

	listen_on(_metadata, self, variant->proto, variant->fam, port);
	ASSERT_EQ(0, try_connect(self->fd, variant->fam, "127.0.0.1", port));
	cport = estp_local_port(self->fd);

	/* The handshake completed: the listener has a connection to accept. */
	pfd = (struct pollfd){ .fd = self->lfd, .events = POLLIN | POLLOUT | POLLPRI };
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	EXPECT_EQ(POLLIN, pfd.revents);

	len = sizeof(from);
	self->afd = accept4(self->lfd, (struct sockaddr *)&from, &len,
			    SOCK_NONBLOCK | SOCK_CLOEXEC);
	ASSERT_LE(0, self->afd);
	EXPECT_EQ(estp_loopback(variant->fam, 0, &lo), len);
	flags = fcntl(self->afd, F_GETFL);
	EXPECT_TRUE(flags >= 0 && (flags & O_NONBLOCK));
	flags = fcntl(self->afd, F_GETFD);
	EXPECT_TRUE(flags >= 0 && (flags & FD_CLOEXEC));
	/* The listener stays blocking: accept4()'s flags are the new fd's. */
	EXPECT_EQ(0, fcntl(self->lfd, F_GETFL) & O_NONBLOCK);

	/* Each end's peer is the other's name. */
	len = sizeof(cpeer);
	ASSERT_EQ(0, getpeername(self->fd, (struct sockaddr *)&cpeer, &len));
	len = sizeof(cname);
	ASSERT_EQ(0, getsockname(self->fd, (struct sockaddr *)&cname, &len));
	len = sizeof(apeer);
	ASSERT_EQ(0, getpeername(self->afd, (struct sockaddr *)&apeer, &len));
	len = sizeof(aname);
	ASSERT_EQ(0, getsockname(self->afd, (struct sockaddr *)&aname, &len));
	EXPECT_TRUE(estp_sockaddr_eq(&cpeer, &aname));
	EXPECT_TRUE(estp_sockaddr_eq(&cname, &apeer));
	EXPECT_TRUE(estp_sockaddr_eq(&cname, &from));
	EXPECT_EQ(port, estp_sockaddr_port(&aname));
	/* 127.0.0.1, ::1 or ::ffff:127.0.0.1, as the family has it. */
	estp_loopback(variant->fam, cport, &lo);
	EXPECT_TRUE(estp_sockaddr_eq(&lo, &cname));

	EXPECT_EQ(ST_ESTABLISHED, estp_proc_state(variant->proto, cport, port));
	EXPECT_EQ(ST_ESTABLISHED, estp_proc_state(variant->proto, port, cport));
	EXPECT_EQ(ST_LISTEN, estp_proc_state(variant->proto, port, 0));

	/* Connected once, connected for good: to the same or another address. */
	EXPECT_EQ(EISCONN, try_connect(self->fd, variant->fam, "127.0.0.1", port));
	EXPECT_EQ(EISCONN, try_connect(self->fd, variant->fam, "127.0.0.1", port + 1));
	/* Nothing is pending on either end. */
	EXPECT_EQ(0, estp_so_error(self->fd));
	EXPECT_EQ(0, estp_so_error(self->afd));
}

/* An established socket is writable and nothing else. */
TEST_F(conn, established_poll)
{
	const int port = PORT_BASE + 6;
	struct pollfd pfd[2];

	listen_on(_metadata, self, variant->proto, variant->fam, port);
	ASSERT_EQ(0, try_connect(self->fd, variant->fam, "127.0.0.1", port));
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
	pfd[0].fd = self->fd;
	pfd[1].fd = self->afd;
	pfd[0].events = POLLIN | POLLOUT | POLLRDHUP | POLLPRI;
	pfd[1].events = pfd[0].events;
	ASSERT_EQ(2, poll(pfd, 2, 0));
	EXPECT_EQ(POLLOUT, pfd[0].revents);
	EXPECT_EQ(POLLOUT, pfd[1].revents);
	/* Accepted: the listener has nothing more. */
	pfd[0] = (struct pollfd){ .fd = self->lfd, .events = POLLIN | POLLOUT };
	EXPECT_EQ(0, poll(pfd, 1, 0));
}

/*
 * connect(AF_UNSPEC) disconnects: tcp_disconnect() resets the peer and
 * leaves a closed socket that can connect again.
 */
TEST_F(conn, disconnect_unspec)
{
	const int port = PORT_BASE + 7;
	struct sockaddr_in unspec = { .sin_family = AF_UNSPEC };
	struct pollfd pfd;
	int cport;

	listen_on(_metadata, self, variant->proto, variant->fam, port);
	ASSERT_EQ(0, try_connect(self->fd, variant->fam, "127.0.0.1", port));
	cport = estp_local_port(self->fd);
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);

	ASSERT_EQ(0, connect(self->fd, (struct sockaddr *)&unspec, sizeof(unspec)));
	EXPECT_EQ(ENOTCONN, peer_errno(self->fd));
	EXPECT_EQ(-1, estp_proc_state(variant->proto, cport, port));
	/*
	 * Closed, not shut down: hung up and writable, and the reset it sent
	 * is its own pending error too.
	 */
	pfd = (struct pollfd){ .fd = self->fd, .events = POLLIN | POLLOUT | POLLRDHUP };
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLOUT | POLLERR | POLLHUP, pfd.revents);
	EXPECT_EQ(ECONNRESET, estp_so_error(self->fd));
	EXPECT_EQ(0, estp_so_error(self->fd));
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLOUT | POLLHUP, pfd.revents);

	/* The peer was reset. */
	pfd = (struct pollfd){ .fd = self->afd, .events = POLLIN | POLLOUT | POLLRDHUP };
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	EXPECT_EQ(POLLIN | POLLOUT | POLLRDHUP | POLLERR | POLLHUP, pfd.revents);
	EXPECT_EQ(ECONNRESET, estp_so_error(self->afd));
	EXPECT_EQ(-1, estp_proc_state(variant->proto, port, cport));
	EXPECT_EQ(ST_LISTEN, estp_proc_state(variant->proto, port, 0));

	/* A second AF_UNSPEC on the closed socket is harmless. */
	EXPECT_EQ(0, connect(self->fd, (struct sockaddr *)&unspec, sizeof(unspec)));
	/* And the socket connects again. */
	EXPECT_EQ(0, try_connect(self->fd, variant->fam, "127.0.0.1", port));
	EXPECT_EQ(ST_ESTABLISHED, estp_proc_state(variant->proto, estp_local_port(self->fd), port));
}

/* Runs @cmd with its output hidden: 0 when it exits 0. */
static int run(const char *cmd)
{
	char buf[512];
	int ret;

	snprintf(buf, sizeof(buf), "%s >/dev/null 2>&1", cmd);
	ret = system(buf);
	return ret == 0 ? 0 : -1;
}

/* Sets the blackhole up in the current netns: 0 or -1. */
static int blackhole_up(void)
{
	return run("ip link add " BH_DEV " type veth peer name " BH_PEER
		   " address " BH_PEER_MAC) ||
	       run("ip link set " BH_PEER " up") ||
	       run("ip addr add " BH_LOCAL "/24 dev " BH_DEV) ||
	       run("ip link set " BH_DEV " up") ||
	       run("ip neigh replace " BH_REMOTE " lladdr " BH_REMOTE_MAC " nud permanent"
		   " dev " BH_DEV) ? -1 : 0;
}

/* An AF_PACKET socket that sees every packet arriving at BH_PEER, or -1. */
static int bh_capture(void)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
	};
	int fd;

	sll.sll_ifindex = if_nametoindex(BH_PEER);
	if (!sll.sll_ifindex)
		return -1;
	/* SOCK_DGRAM: packets start at the IP header. */
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The SYNs of @proto to BH_REMOTE:@port that @cap has seen so far. */
static int bh_syns(int cap, int proto, int port)
{
	uint8_t buf[2048];
	struct pkt_seg s;
	ssize_t n;
	int syns = 0;

	while ((n = recv(cap, buf, sizeof(buf), 0)) > 0)
		if (!pkt_parse(buf, n, proto, &s) && s.dport == port && s.flags == PKT_SYN)
			syns++;
	return syns;
}

/* The tests' netns, the blackhole and the capture go with the test's process. */
FIXTURE(blackhole)
{
	int fd[2];
	int cap;
};

FIXTURE_VARIANTS_TCP_ESTP(blackhole);

FIXTURE_SETUP(blackhole)
{
	self->fd[0] = -1;
	self->fd[1] = -1;
	self->cap = -1;
	ASSERT_EQ(0, estp_netns_private());
	ASSERT_EQ(0, blackhole_up()) TH_LOG("cannot set up the blackhole (iproute2, veth)");
	self->cap = bh_capture();
	ASSERT_LE(0, self->cap);
	self->fd[0] = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, self->fd[0]);
	self->fd[1] = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, self->fd[1]);
}

FIXTURE_TEARDOWN(blackhole)
{
	if (self->fd[0] >= 0)
		close(self->fd[0]);
	if (self->fd[1] >= 0)
		close(self->fd[1]);
	close(self->cap);
}

#define SYN_LINEAR	"/proc/sys/net/ipv4/tcp_syn_linear_timeouts"
#define ESTP_SYN_LINEAR	"/proc/sys/net/estp/syn_linear_timeouts"

/*
 * TCP_SYNCNT 1: the SYN, one retransmission, then ETIMEDOUT, 3 s with
 * exponential backoff from the 1 s initial RTO.  Exactly two SYNs reach the
 * other end: the count is what tells one retry from the sysctl's 6
 * (minutes) or any other, so the time only needs a lower bound (timers do
 * not fire early) and a loose upper one.  Linear SYN timeouts
 * (tcp_syn_linear_timeouts, 6.5 on, which also add retries): off for both
 * in this netns, so that both follow the schedule every kernel shares.
 */
TEST_F(blackhole, syn_timeout)
{
	const int port = PORT_BASE + 8;
	double t;

	if (!access(SYN_LINEAR, F_OK))
		ASSERT_EQ(0, estp_sysctl_set(SYN_LINEAR, "0"));
	ASSERT_EQ(0, estp_sysctl_set(ESTP_SYN_LINEAR, "0"));
	/* ESTP takes TCP's options at SOL_TCP. */
	ASSERT_EQ(0, setsockopt(self->fd[0], SOL_TCP, TCP_SYNCNT, &(int){ 1 }, sizeof(int)));
	t = now_s();
	EXPECT_EQ(ETIMEDOUT, try_connect(self->fd[0], ESTP_FAM4, BH_REMOTE, port));
	t = now_s() - t;
	TH_LOG("connect() gave up after %.2f s", t);
	EXPECT_LE(2.9, t);
	EXPECT_GE(20.0, t);
	EXPECT_EQ(2, bh_syns(self->cap, variant->proto, port));
	EXPECT_EQ(0, estp_so_error(self->fd[0]));
	EXPECT_EQ(-1, estp_proc_state(variant->proto, -1, port));
}

/*
 * The SYN schedule of a connect with @retries retries and @linear linear
 * timeouts (tcp_syn_linear_timeouts, 6.5 on: the first so many timeouts
 * keep the 1 s initial RTO, and add as many retries), as tcp_write_timeout()
 * ends it: by count, or once the retries' time from 1 s with doubling has
 * passed since the first SYN, whichever comes first.  Fills @at with the
 * SYNs' times (s, the first at 0) and returns their number; *@end: when
 * connect() fails.
 */
static int syn_schedule(int retries, int linear, double *at, int max, double *end)
{
	double t = 0, rto = 1, budget = (2 << retries) - 1;
	int k = 0, n = 1;

	at[0] = 0;
	for (;;) {
		t += rto;
		if (k >= retries + linear || (k && t >= budget))
			break;
		k++;
		if (n < max)
			at[n++] = t;
		if (k > linear)
			rto *= 2;
	}
	*end = t;
	return n;
}

/*
 * The kernel's own SYN schedule with TCP_SYNCNT 2 for TCP and ESTP:
 * ESTP's net.estp.syn_linear_timeouts starts at TCP's value (0 where TCP
 * has no such sysctl, as before 6.5), and the SYNs go when TCP's would.
 */
TEST_F_TIMEOUT(blackhole, syn_timeout_linear, 60)
{
	const int port = PORT_BASE + 10;
	struct pollfd pfd[2] = {
		{ .fd = self->cap, .events = POLLIN },
		{ .fd = self->fd[0], .events = POLLOUT },
	};
	double t[16], want[16], end = 0, want_end;
	int linear = 0, n = 0, nwant, i;
	uint8_t buf[2048];
	struct pkt_seg s;
	char val[16];
	ssize_t len;

	if (!access(SYN_LINEAR, F_OK)) {
		ASSERT_EQ(0, estp_sysctl_get(SYN_LINEAR, val, sizeof(val)));
		linear = atoi(val);
	}
	ASSERT_EQ(0, estp_sysctl_get(ESTP_SYN_LINEAR, val, sizeof(val)));
	EXPECT_EQ(linear, atoi(val)) TH_LOG("ESTP's default is not TCP's");
	nwant = syn_schedule(2, linear, want, 16, &want_end);
	ASSERT_EQ(0, setsockopt(self->fd[0], SOL_TCP, TCP_SYNCNT, &(int){ 2 }, sizeof(int)));
	ASSERT_EQ(0, set_nonblock(self->fd[0]));
	ASSERT_EQ(EINPROGRESS, try_connect(self->fd[0], ESTP_FAM4, BH_REMOTE, port));
	while (!end) {
		ASSERT_LT(0, poll(pfd, 2, 30000)) TH_LOG("connect() never ended");
		while ((len = recv(self->cap, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			if (!pkt_parse(buf, len, variant->proto, &s) && s.dport == port &&
			    s.flags == PKT_SYN && n < 16)
				t[n++] = now_s();
		if (pfd[1].revents)
			end = now_s();
	}
	EXPECT_EQ(ETIMEDOUT, estp_so_error(self->fd[0]));
	ASSERT_EQ(nwant, n) TH_LOG("%d linear timeouts", linear);
	for (i = 1; i < n; i++) {
		TH_LOG("SYN %d at %.2f s, TCP's schedule: %.0f s", i, t[i] - t[0], want[i]);
		EXPECT_LE(want[i] - 0.05, t[i] - t[0]);
		EXPECT_GE(want[i] + 0.9, t[i] - t[0]);
	}
	TH_LOG("ETIMEDOUT at %.2f s, TCP's schedule: %.0f s", end - t[0], want_end);
	EXPECT_LE(want_end - 0.05, end - t[0]);
	EXPECT_GE(want_end + 0.9, end - t[0]);
}

/*
 * TCP_USER_TIMEOUT bounds a connect too (tcp_write_timeout(), and the RTO
 * clamped to what is left of it): 1.5 s gives the SYN, one retransmission
 * at 1 s, and ETIMEDOUT at 1.5 s, not at the retries' end.
 */
TEST_F_TIMEOUT(blackhole, syn_user_timeout, 60)
{
	const int port = PORT_BASE + 11;
	double t;

	ASSERT_EQ(0, setsockopt(self->fd[0], SOL_TCP, TCP_USER_TIMEOUT, &(int){ 1500 },
				sizeof(int)));
	t = now_s();
	EXPECT_EQ(ETIMEDOUT, try_connect(self->fd[0], ESTP_FAM4, BH_REMOTE, port));
	t = now_s() - t;
	TH_LOG("connect() gave up after %.2f s", t);
	EXPECT_LE(1.45, t);
	EXPECT_GE(2.4, t);
	EXPECT_EQ(2, bh_syns(self->cap, variant->proto, port));
}

TEST_F(blackhole, connecting)
{
	const int port = PORT_BASE + 9;
	struct pollfd pfd = { .fd = self->fd[0], .events = POLLIN | POLLOUT | POLLRDHUP };
	int lport;

	ASSERT_EQ(0, set_nonblock(self->fd[0]));
	ASSERT_EQ(EINPROGRESS, try_connect(self->fd[0], ESTP_FAM4, BH_REMOTE, port));
	lport = estp_local_port(self->fd[0]);
	EXPECT_LT(0, lport);
	EXPECT_EQ(ST_SYN_SENT, estp_proc_state(variant->proto, lport, port));
	/* A connect under way cannot be started again, nor redirected. */
	EXPECT_EQ(EALREADY, try_connect(self->fd[0], ESTP_FAM4, BH_REMOTE, port));
	EXPECT_EQ(EALREADY, try_connect(self->fd[0], ESTP_FAM4, BH_REMOTE, port + 1));
	/* Connecting: no event at all. */
	EXPECT_EQ(0, poll(&pfd, 1, 100));
	EXPECT_EQ(0, pfd.revents);
	EXPECT_EQ(ENOTCONN, peer_errno(self->fd[0]));
	EXPECT_EQ(0, estp_so_error(self->fd[0]));

	/* A second socket to the same destination gets its own port. */
	ASSERT_EQ(0, set_nonblock(self->fd[1]));
	EXPECT_EQ(EINPROGRESS, try_connect(self->fd[1], ESTP_FAM4, BH_REMOTE, port));
	EXPECT_NE(lport, estp_local_port(self->fd[1]));
	EXPECT_EQ(ST_SYN_SENT, estp_proc_state(variant->proto, estp_local_port(self->fd[1]), port));

	/* Closing a connecting socket drops it at once. */
	close(self->fd[0]);
	self->fd[0] = -1;
	EXPECT_EQ(-1, estp_proc_state(variant->proto, lport, port));
}

/*
 * The tests below run in a netns of their own, which the test's process
 * owns: its sysctls start at their defaults, nothing of another test (a
 * TIME_WAIT, a bound port) is in it, and it goes, with whatever was set in
 * it, when the process ends.
 */
#define PRIV_PORT_BASE	21200

/* The ephemeral range of the private netns: two ports. */
#define EPH_RANGE	"40000 40001"
#define EPH_LOW		40000
#define EPH_HIGH	40001

#define PRIV_FDS	8

FIXTURE(priv)
{
	int fd[PRIV_FDS];
	int lfd[2];
};

FIXTURE_VARIANTS_FAMILIES(priv);

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

FIXTURE_SETUP(priv)
{
	int i;

	for (i = 0; i < PRIV_FDS; i++)
		self->fd[i] = -1;
	self->lfd[0] = -1;
	self->lfd[1] = -1;
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, run("ip link set lo up"));
}

FIXTURE_TEARDOWN(priv)
{
	int i;

	for (i = 0; i < PRIV_FDS; i++)
		close_abort(self->fd[i]);
	for (i = 0; i < 2; i++)
		if (self->lfd[i] >= 0)
			close(self->lfd[i]);
	/* The netns and its sysctls end with the test's process. */
}

/* A listener of @proto on 127.0.0.1:@port in @fam with @backlog: fd, or -1. */
static int listener(int proto, int fam, int port, int backlog)
{
	int fd = estp_socket(proto, fam);

	if (fd < 0)
		return -1;
	if (estp_bind_errno(fd, fam, "127.0.0.1", port) || listen(fd, backlog)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* bind() to 0.0.0.0:@port (::) in @fam: 0 or errno. */
static int try_bind(int fd, int fam, int port)
{
	return estp_bind_errno(fd, fam, "0.0.0.0", port);
}

static int in_range(int port)
{
	return port >= EPH_LOW && port <= EPH_HIGH;
}

/*
 * Connects run out of ephemeral ports per destination: a port is shared by
 * connections whose 4-tuples differ (__inet_hash_connect()).  ESTP takes
 * the same sysctl's ports in its own port space.
 */
TEST_F(priv, ephemeral_connect_exhausted)
{
	const int port = PRIV_PORT_BASE;
	int i, p[3];

	ASSERT_EQ(0, write_file("/proc/sys/net/ipv4/ip_local_port_range", EPH_RANGE));
	self->lfd[0] = listener(variant->proto, variant->fam, port, 8);
	ASSERT_LE(0, self->lfd[0]);
	self->lfd[1] = listener(variant->proto, variant->fam, port + 1, 8);
	ASSERT_LE(0, self->lfd[1]);
	for (i = 0; i < 5; i++) {
		self->fd[i] = estp_socket(variant->proto, variant->fam);
		ASSERT_LE(0, self->fd[i]);
	}

	ASSERT_EQ(0, try_connect(self->fd[0], variant->fam, "127.0.0.1", port));
	ASSERT_EQ(0, try_connect(self->fd[1], variant->fam, "127.0.0.1", port));
	p[0] = estp_local_port(self->fd[0]);
	p[1] = estp_local_port(self->fd[1]);
	EXPECT_TRUE(in_range(p[0]) && in_range(p[1]) && p[0] != p[1])
		TH_LOG("ports %d and %d", p[0], p[1]);

	/* Both ports are taken towards 127.0.0.1:port. */
	EXPECT_EQ(EADDRNOTAVAIL, try_connect(self->fd[2], variant->fam, "127.0.0.1", port));
	/* The failed connect left the socket unbound, with no error pending. */
	EXPECT_EQ(0, estp_local_port(self->fd[2]));
	EXPECT_EQ(0, estp_so_error(self->fd[2]));
	EXPECT_EQ(ENOTCONN, peer_errno(self->fd[2]));

	/* Towards another port the 4-tuples differ: both ports serve again. */
	EXPECT_EQ(0, try_connect(self->fd[3], variant->fam, "127.0.0.1", port + 1));
	EXPECT_EQ(0, try_connect(self->fd[4], variant->fam, "127.0.0.1", port + 1));
	p[2] = estp_local_port(self->fd[3]);
	EXPECT_TRUE(in_range(p[2]) && in_range(estp_local_port(self->fd[4])) &&
		    p[2] != estp_local_port(self->fd[4]));
	EXPECT_EQ(ST_ESTABLISHED, estp_proc_state(variant->proto, p[2], port + 1));
	/* Towards port + 1 too, both ports are taken now. */
	EXPECT_EQ(EADDRNOTAVAIL, try_connect(self->fd[2], variant->fam, "127.0.0.1", port + 1));

	/* bind() to port 0 shares no port with a connection: none is free. */
	self->fd[5] = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, self->fd[5]);
	EXPECT_EQ(EADDRINUSE, try_bind(self->fd[5], variant->fam, 0));
	EXPECT_EQ(0, estp_local_port(self->fd[5]));
}

/* Sockets bound to port 0 take the range's ports for good. */
TEST_F(priv, ephemeral_bind_exhausted)
{
	const int port = PRIV_PORT_BASE + 2;
	int p[2];

	ASSERT_EQ(0, write_file("/proc/sys/net/ipv4/ip_local_port_range", EPH_RANGE));
	self->fd[0] = estp_socket(variant->proto, variant->fam);
	self->fd[1] = estp_socket(variant->proto, variant->fam);
	self->fd[2] = estp_socket(variant->proto, variant->fam);
	self->fd[3] = estp_socket(variant->proto, variant->fam);
	ASSERT_TRUE(self->fd[0] >= 0 && self->fd[1] >= 0 && self->fd[2] >= 0 &&
		    self->fd[3] >= 0);

	ASSERT_EQ(0, try_bind(self->fd[0], variant->fam, 0));
	ASSERT_EQ(0, try_bind(self->fd[1], variant->fam, 0));
	p[0] = estp_local_port(self->fd[0]);
	p[1] = estp_local_port(self->fd[1]);
	EXPECT_TRUE(in_range(p[0]) && in_range(p[1]) && p[0] != p[1])
		TH_LOG("ports %d and %d", p[0], p[1]);
	EXPECT_EQ(EADDRINUSE, try_bind(self->fd[2], variant->fam, 0));
	EXPECT_EQ(0, estp_local_port(self->fd[2]));

	/* connect() does not share a port that bind() took. */
	self->lfd[0] = listener(variant->proto, variant->fam, port, 8);
	ASSERT_LE(0, self->lfd[0]);
	EXPECT_EQ(EADDRNOTAVAIL, try_connect(self->fd[3], variant->fam, "127.0.0.1", port));
	/* A bound socket connects from its own port. */
	EXPECT_EQ(0, try_connect(self->fd[0], variant->fam, "127.0.0.1", port));
	EXPECT_EQ(p[0], estp_local_port(self->fd[0]));
	EXPECT_EQ(ST_ESTABLISHED, estp_proc_state(variant->proto, p[0], port));
}

/*
 * A full accept queue drops SYNs (tcp_conn_request()); the client's SYN
 * retransmission gets in once accept() has made room.  The SYN goes again
 * 1 s (the initial RTO) after the first, then 1 s (7.x's linear timeouts)
 * or 2 s (backoff) later, and so on: normally accept() comes well within
 * the first second, and the first retransmission gets in.  On a host slow
 * enough to accept() later, the retransmissions before it were dropped as
 * well, and the first one after it gets in: the bounds follow.
 */
TEST_F(priv, accept_queue_full)
{
	const int port = PRIV_PORT_BASE + 3;
	struct pollfd pfd;
	struct sockaddr_storage from;
	long over, drops, early;
	double t, t_acc, end;
	socklen_t len;
	int i, cport;

	/* Backlog 1: full is "more than 1 queued" (sk_acceptq_is_full()). */
	self->lfd[0] = listener(variant->proto, variant->fam, port, 1);
	ASSERT_LE(0, self->lfd[0]);
	for (i = 0; i < 3; i++) {
		self->fd[i] = estp_socket(variant->proto, variant->fam);
		ASSERT_LE(0, self->fd[i]);
	}
	ASSERT_EQ(0, try_connect(self->fd[0], variant->fam, "127.0.0.1", port));
	ASSERT_EQ(0, try_connect(self->fd[1], variant->fam, "127.0.0.1", port));
	over = estp_counter(variant->proto, "ListenOverflows");
	drops = estp_counter(variant->proto, "ListenDrops");
	ASSERT_LE(0, over);
	ASSERT_LE(0, drops);

	/* The third SYN finds two queued: dropped without an answer. */
	ASSERT_EQ(0, set_nonblock(self->fd[2]));
	t = now_s();
	ASSERT_EQ(EINPROGRESS, try_connect(self->fd[2], variant->fam, "127.0.0.1", port));
	cport = estp_local_port(self->fd[2]);
	/* On loopback the SYN is handled within connect(); allow for a delay. */
	for (end = now_s() + 5; estp_counter(variant->proto, "ListenOverflows") == over &&
	     now_s() < end;)
		usleep(10000);
	EXPECT_EQ(over + 1, estp_counter(variant->proto, "ListenOverflows"));
	EXPECT_EQ(drops + 1, estp_counter(variant->proto, "ListenDrops"));
	EXPECT_EQ(ST_SYN_SENT, estp_proc_state(variant->proto, cport, port));
	pfd = (struct pollfd){ .fd = self->fd[2], .events = POLLIN | POLLOUT };
	EXPECT_EQ(0, poll(&pfd, 1, 0));

	/* accept() makes room for one. */
	self->fd[3] = accept(self->lfd[0], NULL, NULL);
	ASSERT_LE(0, self->fd[3]);
	t_acc = now_s() - t;
	/* Retransmissions that may have come before: at most one a second. */
	early = t_acc < 1.0 ? 0 : (long)t_acc;
	ASSERT_EQ(1, poll(&pfd, 1, 20000));
	EXPECT_EQ(POLLOUT, pfd.revents);
	t = now_s() - t;
	TH_LOG("accept() %.2f s after the SYN, connected after %.2f s", t_acc, t);
	/* A retransmission got in: not before the first RTO. */
	EXPECT_LE(0.95, t);
	/*
	 * The first retransmission after accept(): by twice its time plus 1 s
	 * (backoff), with room for a late timer.
	 */
	EXPECT_GE((t_acc < 1.0 ? 1.0 : 2 * t_acc + 1) + 5.0, t);
	EXPECT_EQ(0, estp_so_error(self->fd[2]));
	EXPECT_EQ(ST_ESTABLISHED, estp_proc_state(variant->proto, cport, port));
	/* The first SYN, and the retransmissions before accept(): never the one after. */
	EXPECT_LE(over + 1, estp_counter(variant->proto, "ListenOverflows"));
	EXPECT_GE(over + 1 + early, estp_counter(variant->proto, "ListenOverflows"));
	EXPECT_LE(drops + 1, estp_counter(variant->proto, "ListenDrops"));
	EXPECT_GE(drops + 1 + early, estp_counter(variant->proto, "ListenDrops"));

	/* The second client, then the third, wait to be accepted. */
	pfd = (struct pollfd){ .fd = self->lfd[0], .events = POLLIN | POLLOUT };
	ASSERT_EQ(1, poll(&pfd, 1, 2000));
	EXPECT_EQ(POLLIN, pfd.revents);
	self->fd[4] = accept(self->lfd[0], NULL, NULL);
	ASSERT_LE(0, self->fd[4]);
	EXPECT_EQ(estp_local_port(self->fd[1]), estp_peer_port(self->fd[4]));
	ASSERT_EQ(1, poll(&pfd, 1, 2000));
	EXPECT_EQ(POLLIN, pfd.revents);
	len = sizeof(from);
	self->fd[5] = accept(self->lfd[0], (struct sockaddr *)&from, &len);
	ASSERT_LE(0, self->fd[5]);
	EXPECT_EQ(cport, estp_sockaddr_port(&from));
	EXPECT_EQ(ST_ESTABLISHED, estp_proc_state(variant->proto, port, cport));
	/* Nothing more. */
	EXPECT_EQ(0, poll(&pfd, 1, 0));
}

ESTP_HARNESS_MAIN("refused", "established", "disconnect_unspec", "no_route")
