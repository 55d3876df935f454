// SPDX-License-Identifier: GPL-2.0
/*
 * bind(), listen() and accept() without any data: address and port checks,
 * SO_REUSEADDR/SO_REUSEPORT conflicts, privileged ports, autobind and the
 * listener's states.  TCP is the specification: every TEST_F runs for TCP and
 * ESTP as fixture variants and asserts what TCP does.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "estp_lib.h"

/*
 * Fixed ports, below ip_local_port_range's default 32768 so no autobind can
 * take them; each test has its own.
 */
#define PORT_BASE	20000
#define NOBODY		65534

/* socket() fds a test may hold; the teardown closes them. */
#define NFDS		3

/* What a child reports when it fails before the call under test. */
#define CHILD_SETUP_FAIL	250

/* bind() to @ip:@port: 0 or errno. */
static int try_bind(int fd, const char *ip, int port)
{
	struct sockaddr_in sin = estp_sin4(ip, port);

	return bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ? errno : 0;
}

static int try_listen(int fd, int backlog)
{
	return listen(fd, backlog) ? errno : 0;
}

static int set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val)) ? errno : 0;
}

/* SO_ACCEPTCONN: 1 for a listener, 0 otherwise, -1 on error. */
static int accepting(int fd)
{
	return estp_getsockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN);
}

static int read_ints(const char *path, int *a, int *b)
{
	FILE *f = fopen(path, "r");
	int n;

	if (!f)
		return -1;
	n = b ? fscanf(f, "%d %d", a, b) : fscanf(f, "%d", a);
	fclose(f);
	return n == (b ? 2 : 1) ? 0 : -1;
}

/*
 * bind() in a child running as @uid: 0 or the errno, else CHILD_SETUP_FAIL.
 * The socket is created before the uid changes when @sock_first (the socket
 * keeps root's owner, the caller loses its capabilities), after it otherwise
 * (sk_uid, which SO_REUSEPORT compares, is the creator's).
 */
static int child_bind(int proto, uid_t uid, int sock_first, int reuseport,
		      const char *ip, int port)
{
	int status, fd = -1;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (sock_first)
			fd = socket(AF_INET, SOCK_STREAM, proto);
		if (setresuid(uid, uid, uid))
			_exit(CHILD_SETUP_FAIL);
		if (!sock_first)
			fd = socket(AF_INET, SOCK_STREAM, proto);
		if (fd < 0 || (reuseport && set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1)))
			_exit(CHILD_SETUP_FAIL);
		_exit(try_bind(fd, ip, port));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

FIXTURE(bind)
{
	int fd[NFDS];
};

FIXTURE_VARIANTS_TCP_ESTP(bind);

FIXTURE_SETUP(bind)
{
	int i;

	for (i = 0; i < NFDS; i++) {
		self->fd[i] = socket(AF_INET, SOCK_STREAM, variant->proto);
		ASSERT_LE(0, self->fd[i]);
	}
}

FIXTURE_TEARDOWN(bind)
{
	int i;

	for (i = 0; i < NFDS; i++)
		if (self->fd[i] >= 0)
			close(self->fd[i]);
}

TEST_F(bind, bind_once)
{
	const int port = PORT_BASE + 1;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	ASSERT_EQ(0, try_bind(self->fd[0], "127.0.0.1", port));
	ASSERT_EQ(0, getsockname(self->fd[0], (struct sockaddr *)&sin, &len));
	EXPECT_EQ(sizeof(sin), len);
	EXPECT_EQ(AF_INET, sin.sin_family);
	EXPECT_EQ(port, ntohs(sin.sin_port));
	EXPECT_EQ(htonl(INADDR_LOOPBACK), sin.sin_addr.s_addr);
	/* A bound socket cannot be bound again, to the same or another port. */
	EXPECT_EQ(EINVAL, try_bind(self->fd[0], "127.0.0.1", port));
	EXPECT_EQ(EINVAL, try_bind(self->fd[0], "127.0.0.1", port + 1));
	EXPECT_EQ(port, estp_local_port(self->fd[0]));
}

TEST_F(bind, addr_in_use)
{
	const int port = PORT_BASE + 2;

	ASSERT_EQ(0, try_bind(self->fd[0], "127.0.0.1", port));
	EXPECT_EQ(EADDRINUSE, try_bind(self->fd[1], "127.0.0.1", port));
	/* The wildcard conflicts with a specific address, either way round. */
	EXPECT_EQ(EADDRINUSE, try_bind(self->fd[1], "0.0.0.0", port));
	close(self->fd[0]);
	self->fd[0] = -1;
	/* Closing a bound, never connected socket frees the port at once. */
	ASSERT_EQ(0, try_bind(self->fd[1], "0.0.0.0", port));
	EXPECT_EQ(EADDRINUSE, try_bind(self->fd[2], "127.0.0.1", port));
}

TEST_F(bind, reuseaddr)
{
	const int port = PORT_BASE + 3;
	int i;

	for (i = 0; i < NFDS; i++)
		ASSERT_EQ(0, set_int(self->fd[i], SOL_SOCKET, SO_REUSEADDR, 1));
	/* Neither listening: both binds succeed. */
	ASSERT_EQ(0, try_bind(self->fd[0], "127.0.0.1", port));
	ASSERT_EQ(0, try_bind(self->fd[1], "127.0.0.1", port));
	/*
	 * listen() checks the port again: the first listener wins, the second
	 * fails and is left bound but not listening.
	 */
	ASSERT_EQ(0, try_listen(self->fd[0], 8));
	EXPECT_EQ(1, accepting(self->fd[0]));
	EXPECT_EQ(EADDRINUSE, try_listen(self->fd[1], 8));
	EXPECT_EQ(0, accepting(self->fd[1]));
	EXPECT_EQ(port, estp_local_port(self->fd[1]));
	/* SO_REUSEADDR does not share a port with a listener. */
	EXPECT_EQ(EADDRINUSE, try_bind(self->fd[2], "127.0.0.1", port));
}

TEST_F(bind, reuseport)
{
	const int port = PORT_BASE + 4;

	ASSERT_EQ(0, set_int(self->fd[0], SOL_SOCKET, SO_REUSEPORT, 1));
	ASSERT_EQ(0, set_int(self->fd[1], SOL_SOCKET, SO_REUSEPORT, 1));
	ASSERT_EQ(0, try_bind(self->fd[0], "127.0.0.1", port));
	ASSERT_EQ(0, try_bind(self->fd[1], "127.0.0.1", port));
	EXPECT_EQ(0, try_listen(self->fd[0], 8));
	EXPECT_EQ(0, try_listen(self->fd[1], 8));
	EXPECT_EQ(1, accepting(self->fd[0]));
	EXPECT_EQ(1, accepting(self->fd[1]));
	/* Without SO_REUSEPORT on the new socket, the port is taken. */
	EXPECT_EQ(EADDRINUSE, try_bind(self->fd[2], "127.0.0.1", port));
}

/* SO_REUSEPORT shares a port only between sockets of the same uid. */
TEST_F(bind, reuseport_other_uid)
{
	const int port = PORT_BASE + 5;

	ASSERT_EQ(0, set_int(self->fd[0], SOL_SOCKET, SO_REUSEPORT, 1));
	ASSERT_EQ(0, try_bind(self->fd[0], "127.0.0.1", port));
	EXPECT_EQ(EADDRINUSE, child_bind(variant->proto, NOBODY, 0, 1, "127.0.0.1", port));
	ASSERT_EQ(0, try_listen(self->fd[0], 8));
	EXPECT_EQ(EADDRINUSE, child_bind(variant->proto, NOBODY, 0, 1, "127.0.0.1", port));
	/* The same child binds a free port: the uid alone is not the reason. */
	EXPECT_EQ(0, child_bind(variant->proto, NOBODY, 0, 1, "127.0.0.1", port + 1));
}

TEST_F(bind, privileged_port)
{
	int start = -1;

	ASSERT_EQ(0, read_ints("/proc/sys/net/ipv4/ip_unprivileged_port_start", &start, NULL));
	ASSERT_LT(0, start);
	/* A socket root created, bound after its caller lost every capability. */
	EXPECT_EQ(EACCES, child_bind(variant->proto, NOBODY, 1, 0, "127.0.0.1", start - 1));
	EXPECT_EQ(0, child_bind(variant->proto, NOBODY, 1, 0, "127.0.0.1", start));
	/* Root holds CAP_NET_BIND_SERVICE. */
	EXPECT_EQ(0, try_bind(self->fd[0], "127.0.0.1", start - 1));
	EXPECT_EQ(start - 1, estp_local_port(self->fd[0]));
}

TEST_F(bind, ephemeral_port)
{
	int lo = -1, hi = -1, p0, p1;

	ASSERT_EQ(0, read_ints("/proc/sys/net/ipv4/ip_local_port_range", &lo, &hi));
	ASSERT_EQ(0, try_bind(self->fd[0], "127.0.0.1", 0));
	ASSERT_EQ(0, try_bind(self->fd[1], "127.0.0.1", 0));
	p0 = estp_local_port(self->fd[0]);
	p1 = estp_local_port(self->fd[1]);
	EXPECT_LE(lo, p0);
	EXPECT_GE(hi, p0);
	EXPECT_LE(lo, p1);
	EXPECT_GE(hi, p1);
	/* Without SO_REUSEADDR, two port-0 binds cannot share a port. */
	EXPECT_NE(p0, p1);
	/* Port 0 bound is bound: a second bind() is refused. */
	EXPECT_EQ(EINVAL, try_bind(self->fd[0], "127.0.0.1", 0));
}

TEST_F(bind, bad_address)
{
	const int port = PORT_BASE + 6;
	struct sockaddr_in sin = estp_sin4("127.0.0.1", port);

	/* 192.0.2.0/24 (TEST-NET-1) is on no interface. */
	EXPECT_EQ(EADDRNOTAVAIL, try_bind(self->fd[0], "192.0.2.1", port));

	sin.sin_family = AF_INET6;
	EXPECT_EQ(-1, bind(self->fd[0], (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	sin.sin_family = 0x7ead;
	EXPECT_EQ(-1, bind(self->fd[0], (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	/* AF_UNSPEC passes as AF_INET for INADDR_ANY only. */
	sin.sin_family = AF_UNSPEC;
	EXPECT_EQ(-1, bind(self->fd[0], (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(EAFNOSUPPORT, errno);

	sin.sin_family = AF_INET;
	EXPECT_EQ(-1, bind(self->fd[0], (struct sockaddr *)&sin, sizeof(sin) - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, bind(self->fd[0], (struct sockaddr *)&sin, sizeof(sa_family_t)));
	EXPECT_EQ(EINVAL, errno);

	/* None of the failures left the socket bound. */
	EXPECT_EQ(0, estp_local_port(self->fd[0]));
	sin = estp_sin4("0.0.0.0", port);
	sin.sin_family = AF_UNSPEC;
	EXPECT_EQ(0, bind(self->fd[0], (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(port, estp_local_port(self->fd[0]));
}

TEST_F(bind, listen_autobind)
{
	int lo = -1, hi = -1, port;

	ASSERT_EQ(0, read_ints("/proc/sys/net/ipv4/ip_local_port_range", &lo, &hi));
	EXPECT_EQ(0, accepting(self->fd[0]));
	ASSERT_EQ(0, try_listen(self->fd[0], 8));
	EXPECT_EQ(1, accepting(self->fd[0]));
	port = estp_local_port(self->fd[0]);
	EXPECT_LE(lo, port);
	EXPECT_GE(hi, port);
	/* listen() again only changes the backlog. */
	EXPECT_EQ(0, try_listen(self->fd[0], 16));
	EXPECT_EQ(1, accepting(self->fd[0]));
	EXPECT_EQ(port, estp_local_port(self->fd[0]));
}

TEST_F(bind, listen_after_shutdown)
{
	const int port = PORT_BASE + 7;

	/* Not listening, not connected. */
	EXPECT_EQ(-1, shutdown(self->fd[0], SHUT_RDWR));
	EXPECT_EQ(ENOTCONN, errno);

	ASSERT_EQ(0, try_bind(self->fd[0], "127.0.0.1", port));
	ASSERT_EQ(0, try_listen(self->fd[0], 8));
	/* Shutting down only the sending side leaves a listener listening. */
	EXPECT_EQ(0, shutdown(self->fd[0], SHUT_WR));
	EXPECT_EQ(1, accepting(self->fd[0]));
	/* SHUT_RDWR stops it; the explicitly bound port stays. */
	EXPECT_EQ(0, shutdown(self->fd[0], SHUT_RDWR));
	EXPECT_EQ(0, accepting(self->fd[0]));
	EXPECT_EQ(port, estp_local_port(self->fd[0]));
	EXPECT_EQ(-1, accept(self->fd[0], NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(EADDRINUSE, try_bind(self->fd[1], "127.0.0.1", port));
	/* And it can listen again. */
	EXPECT_EQ(0, try_listen(self->fd[0], 8));
	EXPECT_EQ(1, accepting(self->fd[0]));
	EXPECT_EQ(port, estp_local_port(self->fd[0]));
}

TEST_F(bind, listener_poll)
{
	struct pollfd pfd = {
		.fd = self->fd[0],
		.events = POLLIN | POLLOUT | POLLRDHUP | POLLPRI,
		.revents = -1,
	};

	ASSERT_EQ(0, try_listen(self->fd[0], 8));
	/* A listener reports only pending connections, not even POLLOUT. */
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	EXPECT_EQ(0, pfd.revents);
}

TEST_F(bind, accept_not_listening)
{
	const int port = PORT_BASE + 8;

	EXPECT_EQ(-1, accept(self->fd[0], NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, try_bind(self->fd[0], "127.0.0.1", port));
	EXPECT_EQ(-1, accept(self->fd[0], NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, accept4(self->fd[0], NULL, NULL, SOCK_NONBLOCK));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(bind, accept_nonblock_empty)
{
	int flags = fcntl(self->fd[0], F_GETFL);

	ASSERT_LE(0, flags);
	ASSERT_EQ(0, fcntl(self->fd[0], F_SETFL, flags | O_NONBLOCK));
	ASSERT_EQ(0, try_listen(self->fd[0], 8));
	EXPECT_EQ(-1, accept4(self->fd[0], NULL, NULL, SOCK_NONBLOCK));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(-1, accept(self->fd[0], NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(1, accepting(self->fd[0]));
}

TEST_F(bind, connect_listener)
{
	const int port = PORT_BASE + 9;
	struct sockaddr_in dst = estp_sin4("127.0.0.1", port + 1);

	ASSERT_EQ(0, try_bind(self->fd[0], "127.0.0.1", port));
	ASSERT_EQ(0, try_listen(self->fd[0], 8));
	/* A listener is not in TCP_CLOSE: inet_stream_connect() refuses. */
	EXPECT_EQ(-1, connect(self->fd[0], (struct sockaddr *)&dst, sizeof(dst)));
	EXPECT_EQ(EISCONN, errno);
	EXPECT_EQ(1, accepting(self->fd[0]));
	EXPECT_EQ(port, estp_local_port(self->fd[0]));
}

/* net.core.somaxconn for large_backlog, in a netns of the test's own. */
#define SMALL_SOMAXCONN	4
#define SMALL_SOMAXCONN_STR	"4"
#define MAX_CLIENTS	(SMALL_SOMAXCONN + 4)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A non-blocking connect() of a new socket to 127.0.0.1:@port, watched
 * until it is connected or its SYN is dropped (@proto's ListenOverflows
 * passes @ovf), 5 s at most: 1 connected, 0 dropped, -1 neither.  The
 * socket is left in *@fd.
 */
static int queue_one(int proto, int port, long ovf, int *fd)
{
	struct sockaddr_in sin = estp_sin4("127.0.0.1", port);
	struct pollfd pfd = { .events = POLLOUT };
	double end = now_s() + 5;

	*fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, proto);
	if (*fd < 0)
		return -1;
	if (connect(*fd, (struct sockaddr *)&sin, sizeof(sin)) && errno != EINPROGRESS)
		return -1;
	pfd.fd = *fd;
	do {
		if (poll(&pfd, 1, 10) == 1)
			return estp_so_error(*fd) ? -1 : 1;
		if (estp_counter(proto, "ListenOverflows") > ovf)
			return 0;
	} while (now_s() < end);
	return -1;
}

/*
 * The backlog is clamped to net.core.somaxconn without an error
 * (__sys_listen()), whatever is asked: 1 << 20, INT_MAX, or -1 (huge once
 * cast to unsigned).  The listener then queues somaxconn + 1 connections
 * nobody accepts (sk_acceptq_is_full() is "more than"), and drops the next
 * SYN, counted in ListenOverflows.  somaxconn is made small in a netns of
 * the test's own, where it goes with the test.
 */
TEST_F(bind, large_backlog)
{
	static const int backlogs[] = { 1 << 20, INT_MAX, -1 };
	int fds[MAX_CLIENTS], lfd, i, n, r;
	size_t b;
	long ovf;

	ASSERT_EQ(0, estp_netns_private());
	ASSERT_EQ(0, estp_sysctl_set("/proc/sys/net/core/somaxconn", SMALL_SOMAXCONN_STR));
	for (b = 0; b < ARRAY_SIZE(backlogs); b++) {
		const int port = PORT_BASE + 11 + b;

		lfd = socket(AF_INET, SOCK_STREAM, variant->proto);
		ASSERT_LE(0, lfd);
		ASSERT_EQ(0, try_bind(lfd, "127.0.0.1", port));
		EXPECT_EQ(0, try_listen(lfd, backlogs[b]));
		EXPECT_EQ(1, accepting(lfd));
		ovf = estp_counter(variant->proto, "ListenOverflows");
		ASSERT_LE(0, ovf);
		for (n = 0, r = 1; n < MAX_CLIENTS && r == 1; n++)
			r = queue_one(variant->proto, port, ovf, &fds[n]);
		EXPECT_EQ(0, r) TH_LOG("backlog %d: no SYN dropped", backlogs[b]);
		/* The last one's SYN was dropped; those before it are queued. */
		EXPECT_EQ(SMALL_SOMAXCONN + 1, n - 1) TH_LOG("backlog %d", backlogs[b]);
		EXPECT_EQ(ovf + 1, estp_counter(variant->proto, "ListenOverflows"));
		for (i = 0; i < n; i++)
			estp_close_abort(&fds[i]);
		close(lfd);
	}
}

/* Deliberate: ESTP has its own port space, so TCP's ports never collide with ESTP's. */
TEST(port_space_independent)
{
	const int port = PORT_BASE + 10;
	int tcp, estp;

	tcp = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	ASSERT_LE(0, tcp);
	estp = socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP);
	ASSERT_LE(0, estp);
	ASSERT_EQ(0, try_bind(tcp, "127.0.0.1", port));
	ASSERT_EQ(0, try_listen(tcp, 8));
	EXPECT_EQ(0, try_bind(estp, "127.0.0.1", port));
	EXPECT_EQ(0, try_listen(estp, 8));
	EXPECT_EQ(1, accepting(estp));
	close(tcp);
	close(estp);

	/* The other way round, and on the wildcard. */
	estp = socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP);
	ASSERT_LE(0, estp);
	tcp = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	ASSERT_LE(0, tcp);
	ASSERT_EQ(0, try_bind(estp, "0.0.0.0", port + 1));
	ASSERT_EQ(0, try_listen(estp, 8));
	EXPECT_EQ(0, try_bind(tcp, "0.0.0.0", port + 1));
	EXPECT_EQ(0, try_listen(tcp, 8));
	EXPECT_EQ(1, accepting(tcp));
	close(tcp);
	close(estp);
}

/*
 * /proc/net/estp lists a listener as /proc/net/tcp does: local address and
 * port in hex, state 0A (TCP_LISTEN); a closed listener is gone from it.
 */
static int proc_estp_has(const char *local, const char *state)
{
	char line[256], l[32], st[8];
	int found = 0;
	FILE *f;

	f = fopen("/proc/net/estp", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %31s %*s %7s", l, st) == 2 &&
		    !strcmp(l, local) && !strcmp(st, state))
			found++;
	fclose(f);
	return found;
}

TEST(proc_net_estp_listener)
{
	struct sockaddr_in sin = estp_sin4("127.0.0.1", PORT_BASE + 99);
	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	/* Bound but not listening: not hashed, not listed (as TCP). */
	EXPECT_EQ(0, proc_estp_has("0100007F:4E83", "0A"));
	ASSERT_EQ(0, listen(fd, 8));
	EXPECT_EQ(1, proc_estp_has("0100007F:4E83", "0A"));
	ASSERT_EQ(0, listen(fd, 16));
	EXPECT_EQ(1, proc_estp_has("0100007F:4E83", "0A"));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, proc_estp_has("0100007F:4E83", "0A"));
}

TEST_HARNESS_MAIN
