// SPDX-License-Identifier: GPL-2.0
/*
 * Flow control and a vanished peer, over two netns joined by a veth pair
 * with tc netem on both ends (client in NS_A, server in NS_B):
 *
 * - zero window: the server stops reading; the client fills the window and
 *   its send buffer and then blocks (a blocking send() stays in the call, a
 *   non-blocking one gets EAGAIN and no POLLOUT), while it keeps probing the
 *   window (OutSegs of its netns rises, the connection stays ESTABLISHED);
 *   once the server reads, the transfer resumes and every byte arrives.
 * - the peer vanishes (netem loss 100% after the handshake): the writer gets
 *   ETIMEDOUT within TCP_USER_TIMEOUT, or within net.ipv4.tcp_retries2 /
 *   net.estp.retries2 retransmissions, instead of the default's 15 minutes.
 *
 * TCP and ESTP run the same cases, on IPv4, IPv6 and v4-mapped IPv6; TCP
 * is the specification.  Keepalive on
 * an idle dead peer is in estp_close_test.c.
 */
#include <pthread.h>
#include <poll.h>
#include <sched.h>
#include <time.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#ifndef ESTP_FLOW_FAM
#define ESTP_FLOW_FAM	4
#endif

#include "kselftest_harness.h"
#include "estp_lib.h"

#define NS_A		"estp-fl-a"
#define NS_B		"estp-fl-b"
#define DEV_A		"estp-fl0"
#define DEV_B		"estp-fl1"
#define IP_A		"10.196.0.1"
#define IP_B		"10.196.0.2"
#define PORT		21900
#define XFER_LEN	(8 << 20)	/* far more than window and send buffer */
#define CHUNK		16384		/* per send(): progress stays visible */
#define SNDBUF		(128 << 10)

static const struct estp_veth veth = {
	.ns_a = NS_A, .ns_b = NS_B,
	.dev_a = DEV_A, .dev_b = DEV_B,
	.ip_a = IP_A, .ip_b = IP_B,
	.ip6 = 1,
};

/* The link as the fixture sets it up ("delay 1ms"), or dead ("loss 100%"). */
static int link_set(const char *netem)
{
	if (estp_runf("ip netns exec " NS_A " tc qdisc change dev " DEV_A " root netem %s",
		      netem) ||
	    estp_runf("ip netns exec " NS_B " tc qdisc change dev " DEV_B " root netem %s",
		      netem))
		return -1;
	return 0;
}

/* From now on both ends drop all they send: each peer looks dead to the other. */
static int link_cut(void)
{
	return link_set("loss 100%");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The seed of the stream the client sends: it never repeats (estp_pattern_*). */
#define SEED		0xf10f

FIXTURE(flow)
{
	int home, ns[2];		/* our netns; NS_A (client), NS_B (server) */
	int lfd, cfd, afd;
	int cport;
	int fam;			/* enum estp_fam */
	unsigned char *tx;
};

/*
 * Tied to no family: IPv4, IPv6 (fd00::10:196:0:x on the veth) and
 * v4-mapped, one program each (a case takes 35-45 s under TCG: all six
 * families in one program would outlast the runner's timeout).
 * estp_flow_test is the IPv4 build, estp_flow6_test (ESTP_FLOW_FAM 6) and
 * estp_flow_mapped_test (ESTP_FLOW_FAM 46) are built from this source.
 */
FIXTURE_VARIANT(flow) { int proto; int fam; };
#if ESTP_FLOW_FAM == 6
FIXTURE_VARIANT_ADD(flow, tcp6) { .proto = IPPROTO_TCP, .fam = ESTP_FAM6 };
FIXTURE_VARIANT_ADD(flow, estp6) { .proto = IPPROTO_ESTP, .fam = ESTP_FAM6 };
#elif ESTP_FLOW_FAM == 46
FIXTURE_VARIANT_ADD(flow, tcp_mapped) { .proto = IPPROTO_TCP, .fam = ESTP_FAM_MAPPED };
FIXTURE_VARIANT_ADD(flow, estp_mapped) { .proto = IPPROTO_ESTP, .fam = ESTP_FAM_MAPPED };
#else
FIXTURE_VARIANT_ADD(flow, tcp4) { .proto = IPPROTO_TCP, .fam = ESTP_FAM4 };
FIXTURE_VARIANT_ADD(flow, estp4) { .proto = IPPROTO_ESTP, .fam = ESTP_FAM4 };
#endif

/* Enters netns @ns (0: NS_A, 1: NS_B); -1 leaves for home. */
static int enter(FIXTURE_DATA(flow) *self, int ns)
{
	return setns(ns < 0 ? self->home : self->ns[ns], CLONE_NEWNET);
}

/* A socket of @proto and the test's family inside netns @ns. */
static int socket_in(FIXTURE_DATA(flow) *self, int ns, int proto)
{
	int fd;

	if (enter(self, ns))
		return -1;
	fd = estp_socket(proto, self->fam);
	if (enter(self, -1)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Counter @name of the "Tcp:" rows of /proc/net/snmp (TCP), estp_stat() (ESTP). */
static long snmp_counter(int proto, const char *name)
{
	if (proto == IPPROTO_TCP)
		return estp_proc_counter("/proc/net/snmp", "Tcp", name);
	return estp_stat(name);
}

/* Counter @get(@proto, @name) of netns @ns, or -1. */
static long counter_in(FIXTURE_DATA(flow) *self, int ns,
		       long (*get)(int proto, const char *name), int proto, const char *name)
{
	long v;

	if (enter(self, ns))
		return -1;
	v = get(proto, name);
	if (enter(self, -1))
		return -1;
	return v;
}

/* The client's state in NS_A's /proc/net/{tcp,estp}: -1 when it is gone. */
static int client_state(FIXTURE_DATA(flow) *self, int proto)
{
	int st;

	if (enter(self, 0))
		return -2;
	st = estp_proc_state(proto, self->cport, -1);
	if (enter(self, -1))
		return -2;
	return st;
}

/* Writes @val to /proc/sys/@path in netns @ns: 0 or errno. */
static int sysctl_in(FIXTURE_DATA(flow) *self, int ns, const char *path, const char *val)
{
	int err;

	if (enter(self, ns))
		return errno;
	err = estp_sysctl_set(path, val);
	if (enter(self, -1))
		return errno;
	return err;
}

FIXTURE_SETUP(flow)
{
	struct sockaddr_storage ss;
	socklen_t len = estp_sockaddr(variant->fam, IP_B, PORT, &ss);
	struct timeval tv = { .tv_sec = 30 };

	self->fam = variant->fam;
	self->lfd = self->cfd = self->afd = -1;
	self->ns[0] = self->ns[1] = -1;
	self->tx = malloc(XFER_LEN);
	ASSERT_NE(NULL, self->tx);
	estp_pattern_fill(self->tx, XFER_LEN, 0, SEED);
	self->home = open("/proc/self/ns/net", O_RDONLY);
	ASSERT_LE(0, self->home);
	/* A clean link, with a netem qdisc on each end that a test can make lossy. */
	ASSERT_EQ(0, estp_veth_up(&veth, "delay 1ms")) TH_LOG("ip/tc netem setup failed");
	self->ns[0] = open("/run/netns/" NS_A, O_RDONLY);
	self->ns[1] = open("/run/netns/" NS_B, O_RDONLY);
	ASSERT_LE(0, self->ns[0]);
	ASSERT_LE(0, self->ns[1]);

	self->lfd = socket_in(self, 1, variant->proto);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&ss, len));
	ASSERT_EQ(0, listen(self->lfd, 1));
	self->cfd = socket_in(self, 0, variant->proto);
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(0, connect(self->cfd, (struct sockaddr *)&ss, len));
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
	/* A stalled transfer fails the test rather than wait for its timeout. */
	ASSERT_EQ(0, setsockopt(self->afd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	self->cport = estp_local_port(self->cfd);
	ASSERT_LT(0, self->cport);
	ASSERT_EQ(ST_ESTABLISHED, client_state(self, variant->proto));
}

FIXTURE_TEARDOWN(flow)
{
	int i;

	/* Aborted: nothing outlives the netns, even over a dead link. */
	estp_close_abort(&self->afd);
	estp_close_abort(&self->cfd);
	estp_close_abort(&self->lfd);
	for (i = 0; i < 2; i++)
		if (self->ns[i] >= 0)
			close(self->ns[i]);
	estp_veth_down(&veth);
	close(self->home);
	free(self->tx);
}

/* The client's blocking writer: XFER_LEN bytes in CHUNKs, then SHUT_WR. */
struct writer {
	int fd;
	const unsigned char *tx;
	size_t sent;			/* read by the main thread */
	int done, err;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	size_t sent = 0;

	while (sent < XFER_LEN) {
		size_t len = XFER_LEN - sent < CHUNK ? XFER_LEN - sent : CHUNK;
		ssize_t n = send(w->fd, w->tx + sent, len, MSG_NOSIGNAL);

		if (n <= 0) {
			__atomic_store_n(&w->err, n ? errno : EIO, __ATOMIC_SEQ_CST);
			break;
		}
		sent += n;
		__atomic_store_n(&w->sent, sent, __ATOMIC_SEQ_CST);
	}
	if (sent == XFER_LEN)
		shutdown(w->fd, SHUT_WR);
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * Reads @fd to the end of the stream, checking each byte against the
 * client's stream:
 * the number of bytes read when all matched; -1 on an error (errno) or a
 * mismatch (errno EBADMSG), with what was read in *@got.
 */
static long read_all(int fd, size_t *got)
{
	static unsigned char buf[1 << 16];

	*got = 0;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0)
			return -1;
		if (n == 0)
			return *got;
		if (estp_pattern_check(buf, n, *got, SEED) >= 0) {
			errno = EBADMSG;
			return -1;
		}
		*got += n;
	}
}

static void *reader_fn(void *arg)
{
	size_t got;
	int fd = *(int *)arg;

	return (void *)read_all(fd, &got);
}

/*
 * The window is closed and the client's send buffer full: the client's
 * netns keeps sending (window probes, tcp_probe_timer()) and the connection
 * stays ESTABLISHED.  TCP's probes back off from 200 ms: two come within
 * about 13 s of the window closing.
 */
static void expect_probing(struct __test_metadata *_metadata,
			   FIXTURE_DATA(flow) *self, int proto)
{
	long before = counter_in(self, 0, snmp_counter, proto, "OutSegs"), now = before;
	double end = now_s() + 30;

	ASSERT_LE(0, before);
	while (now < before + 2 && now_s() < end) {
		usleep(200000);
		now = counter_in(self, 0, snmp_counter, proto, "OutSegs");
	}
	TH_LOG("window closed: OutSegs %ld -> %ld", before, now);
	EXPECT_LE(before + 2, now) TH_LOG("no window probes");
	EXPECT_EQ(ST_ESTABLISHED, client_state(self, proto));
}

/* The window closes, a blocking send() waits in the call, and resumes. */
TEST_F_TIMEOUT(flow, zero_window_blocking, 180)
{
	struct writer w = { .fd = self->cfd, .tx = self->tx };
	int sndbuf = SNDBUF;
	size_t last = 0, got;
	double still;
	pthread_t t;

	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)));
	ASSERT_EQ(0, pthread_create(&t, NULL, writer_fn, &w));
	/* Blocked: no progress for 2 s (the server reads nothing). */
	still = now_s();
	while (now_s() - still < 2 && !__atomic_load_n(&w.done, __ATOMIC_SEQ_CST)) {
		size_t sent = __atomic_load_n(&w.sent, __ATOMIC_SEQ_CST);

		if (sent != last) {
			last = sent;
			still = now_s();
		}
		usleep(100000);
	}
	TH_LOG("blocked after %zu bytes", last);
	EXPECT_EQ(0, __atomic_load_n(&w.done, __ATOMIC_SEQ_CST)) TH_LOG("send() returned");
	EXPECT_LT(0, (long)last);
	EXPECT_GT(XFER_LEN / 2, (long)last);
	expect_probing(_metadata, self, variant->proto);
	/*
	 * Still in send().  Not "no byte more": a TCP receiver that collapses
	 * its queue (tcp_collapse()) may open the window by a little.
	 */
	EXPECT_EQ(0, __atomic_load_n(&w.done, __ATOMIC_SEQ_CST));
	EXPECT_GT(XFER_LEN / 2, (long)__atomic_load_n(&w.sent, __ATOMIC_SEQ_CST));

	/* The server reads: the window opens and everything arrives. */
	EXPECT_EQ(XFER_LEN, read_all(self->afd, &got))
		TH_LOG("read %zu bytes: %s", got, strerror(errno));
	pthread_join(t, NULL);
	EXPECT_EQ(0, w.err) TH_LOG("send: %s", strerror(w.err));
	EXPECT_EQ(XFER_LEN, (long)w.sent);
}

/* The window closes, a non-blocking send() gets EAGAIN and no POLLOUT. */
TEST_F_TIMEOUT(flow, zero_window_nonblocking, 180)
{
	struct pollfd pfd = { .fd = self->cfd, .events = POLLOUT };
	int sndbuf = SNDBUF, ret, fl;
	double end = now_s() + 60;
	size_t sent = 0;
	void *got;
	pthread_t t;
	ssize_t n;

	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)));
	fl = fcntl(self->cfd, F_GETFL);
	ASSERT_EQ(0, fcntl(self->cfd, F_SETFL, fl | O_NONBLOCK));
	/* Send until EAGAIN stays: no POLLOUT for 2 s. */
	for (ret = 1; ret && now_s() < end && sent + CHUNK <= XFER_LEN;) {
		n = send(self->cfd, self->tx + sent, CHUNK, MSG_NOSIGNAL);
		if (n > 0) {
			sent += n;
			continue;
		}
		ASSERT_EQ(-1, n);
		ASSERT_EQ(EAGAIN, errno);
		ret = poll(&pfd, 1, 2000);
		ASSERT_LE(0, ret);
	}
	ASSERT_EQ(0, ret) TH_LOG("POLLOUT kept coming: %zu bytes taken", sent);
	TH_LOG("EAGAIN after %zu bytes", sent);
	EXPECT_LT(0, (long)sent);
	EXPECT_GT(XFER_LEN / 2, (long)sent);
	/* (TCP may take a little more later: see zero_window_blocking.) */
	expect_probing(_metadata, self, variant->proto);

	/* The server reads: the window opens and the rest goes out. */
	ASSERT_EQ(0, pthread_create(&t, NULL, reader_fn, &self->afd));
	while (sent < XFER_LEN) {
		size_t len = XFER_LEN - sent < CHUNK ? XFER_LEN - sent : CHUNK;

		n = send(self->cfd, self->tx + sent, len, MSG_NOSIGNAL);
		if (n > 0) {
			sent += n;
			continue;
		}
		if (n < 0 && errno == EAGAIN && poll(&pfd, 1, 30000) == 1)
			continue;
		break;
	}
	EXPECT_EQ(XFER_LEN, (long)sent) TH_LOG("send: %s", strerror(errno));
	EXPECT_EQ(0, shutdown(self->cfd, SHUT_WR));
	pthread_join(t, &got);
	EXPECT_EQ(XFER_LEN, (long)got);
}

/*
 * Cuts the link, then writes until send() fails: its errno (0 when it has
 * not failed in 90 s), and the seconds from the first unanswered byte to
 * the failure in *@secs.  SO_SNDTIMEO makes a blocked send() return now
 * and then (EAGAIN, or the bytes it took), for the clock to be looked at.
 */
static int write_until_error(FIXTURE_DATA(flow) *self, int fd, double *secs)
{
	struct timeval tv = { .tv_sec = 5 };
	size_t sent = 0;
	int err = 0;
	double t;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) || link_cut())
		return -1;
	t = now_s();
	while (now_s() - t < 90) {
		ssize_t n = send(fd, self->tx + sent % (XFER_LEN - CHUNK), CHUNK, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0) {
			err = n ? errno : EIO;
			break;
		}
		sent += n;
	}
	*secs = now_s() - t;
	return err;
}

/*
 * What a writer to a vanished peer sees once the connection times out,
 * @when seconds after its first unanswered byte: not before (timers do not
 * fire early, and that byte left after the clock started), and before
 * @most, which tells it from the next larger setting and leaves TCG its
 * jitter.
 */
static void expect_timed_out(struct __test_metadata *_metadata, FIXTURE_DATA(flow) *self,
			     int proto, int fd, long aborts, int err, double secs, double when,
			     double most)
{
	TH_LOG("send() failed after %.2f s: %s", secs, strerror(err));
	EXPECT_EQ(ETIMEDOUT, err);
	EXPECT_LE(when - 0.1, secs);
	EXPECT_GT(most, secs);
	EXPECT_EQ(-1, client_state(self, proto));
	EXPECT_EQ(aborts + 1, counter_in(self, 0, estp_counter, proto, "AbortOnTimeout"));
	/* The error was reported once; the socket is closed for writing now. */
	EXPECT_EQ(-1, send(fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT));
	EXPECT_EQ(EPIPE, errno);
}

/*
 * TCP_USER_TIMEOUT (18) at SOL_TCP, which ESTP takes too: 3000 ms, on the
 * dot (the RTO is clamped to what is left of it); not 3 times that.
 */
TEST_F_TIMEOUT(flow, peer_gone_user_timeout, 180)
{
	long aborts = counter_in(self, 0, estp_counter, variant->proto, "AbortOnTimeout");
	int ms = 3000, err;
	double secs = 0;

	ASSERT_LE(0, aborts);
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms)))
		TH_LOG("TCP_USER_TIMEOUT: %s", strerror(errno));
	ASSERT_EQ(3000, estp_getsockopt_int(self->cfd, SOL_TCP, TCP_USER_TIMEOUT));
	err = write_until_error(self, self->cfd, &secs);
	ASSERT_LE(0, err);
	expect_timed_out(_metadata, self, variant->proto, self->cfd, aborts, err, secs, 3.0, 9.0);
}

/*
 * The RTO (seconds) of the socket with local port @lport in netns @ns's
 * /proc/net/{tcp,estp} ({tcp6,estp6} for an AF_INET6 socket), from its
 * column after the inode: > 0, or -1.
 */
static double rto_in(FIXTURE_DATA(flow) *self, int ns, int proto, int lport)
{
	unsigned int lp;
	char line[512];
	double rto = -1;
	long ticks;
	FILE *f;

	if (enter(self, ns))
		return -1;
	f = fopen(estp_proc_net(proto, self->fam), "r");
	while (f && rto < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, " %*u: %*x:%x %*x:%*x %*x %*x:%*x %*x:%*x %*x %*u %*d %*u %*d %*s %ld",
			   &lp, &ticks) == 2 && (int)lp == lport)
			rto = (double)ticks / sysconf(_SC_CLK_TCK);
	if (f)
		fclose(f);
	if (enter(self, -1))
		return -1;
	return rto;
}

/*
 * net.ipv4.tcp_retries2 (TCP) or net.estp.retries2 (ESTP) = 3 in the
 * writer's netns: 3 s of retransmissions (tcp_model_timeout(): 15 times
 * the 200 ms minimum RTO), instead of 15 retries' 15 minutes, checked when
 * a retransmission timer expires.  Over a 100 ms round trip (netem delay
 * 50 ms both ways, for a connection of the test's own) the RTO R is about
 * 300 ms and the timers expire R, 3R, 7R, 15R after the first unanswered
 * byte: 2.1 s is too early whether the kernel counts from the first
 * transmission or from the first retransmission, 4.5 s is past it either
 * way, so ETIMEDOUT comes at 15R, well apart from 31R (retries2 = 4).
 * (Over the fixture's 2 ms round trip 15R is 3.0 s and on the edge: TCP
 * itself ends at 3 or 6 s from run to run.)
 */
TEST_F_TIMEOUT(flow, peer_gone_retries2, 180)
{
	const char *path = variant->proto == IPPROTO_TCP ?
			   "/proc/sys/net/ipv4/tcp_retries2" : "/proc/sys/net/estp/retries2";
	long aborts = counter_in(self, 0, estp_counter, variant->proto, "AbortOnTimeout");
	struct sockaddr_storage ss;
	socklen_t len = estp_sockaddr(variant->fam, IP_B, PORT + 1, &ss);
	double secs = 0, rto;
	int err, lfd, afd;

	ASSERT_LE(0, aborts);
	err = sysctl_in(self, 0, path, "3");
	ASSERT_EQ(0, err) TH_LOG("%s: %s", path, strerror(err));
	ASSERT_EQ(0, link_set("delay 50ms"));
	lfd = socket_in(self, 1, variant->proto);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&ss, len));
	ASSERT_EQ(0, listen(lfd, 1));
	/* The fixture's client is left alone: the checks below look at this one. */
	estp_close_abort(&self->cfd);
	self->cfd = socket_in(self, 0, variant->proto);
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(0, connect(self->cfd, (struct sockaddr *)&ss, len));
	afd = accept(lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	close(lfd);
	self->cport = estp_local_port(self->cfd);
	rto = rto_in(self, 0, variant->proto, self->cport);
	TH_LOG("RTO %.2f s", rto);
	ASSERT_LE(0.25, rto);
	ASSERT_GT(0.42, rto) TH_LOG("7R would pass 3 s");
	err = write_until_error(self, self->cfd, &secs);
	estp_close_abort(&afd);
	ASSERT_LE(0, err);
	expect_timed_out(_metadata, self, variant->proto, self->cfd, aborts, err, secs,
			 15 * rto, 15 * rto + 2.5);
}

#if ESTP_FLOW_FAM == 6
/* Under ESTP_FAMILIES=subset, one ESTP case of four (TCP's: on 6.1). */
ESTP_HARNESS_MAIN("estp6.zero_window_nonblocking")
#elif ESTP_FLOW_FAM == 46
ESTP_HARNESS_MAIN("estp_mapped.peer_gone_user_timeout")
#else
TEST_HARNESS_MAIN
#endif
