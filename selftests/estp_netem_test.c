// SPDX-License-Identifier: GPL-2.0
/*
 * Bytes over a bad link: two netns joined by a veth pair whose both ends
 * run tc netem (loss, reordering with jitter, duplication and corruption).
 * Each side sends to the other at once; what arrives must be exactly what
 * was sent, and the receiver's counters show the link's work (out-of-order
 * queueing, checksum drops) and the sender's its recovery.  TCP and ESTP
 * run the same cases; TCP is the specification of "every byte arrives".
 */
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>

#include "kselftest_harness.h"
#include "estp_lib.h"

#define NS_A		"estp-nm-a"
#define NS_B		"estp-nm-b"
#define IP_B		"10.199.0.2"
#define PORT		21800
/* Each way, at once; make check STRESS=1 moves 64 MiB. */
#define XFER_LEN	(1 << 20)
#define XFER_STRESS	(64 << 20)

/* Runs @cmd with its output hidden: 0 when it exits 0. */
static int run(const char *cmd)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s >/dev/null 2>&1", cmd);
	return system(buf) == 0 ? 0 : -1;
}

static void link_down(void)
{
	/* The veth pair and its qdiscs go with the netns. */
	run("ip netns del " NS_A);
	run("ip netns del " NS_B);
}

static int link_up(const char *netem)
{
	char a[256], b[256];

	link_down();
	snprintf(a, sizeof(a), "ip netns exec " NS_A " tc qdisc add dev nm0 root netem %s", netem);
	snprintf(b, sizeof(b), "ip netns exec " NS_B " tc qdisc add dev nm1 root netem %s", netem);
	if (run("ip netns add " NS_A) || run("ip netns add " NS_B) ||
	    run("ip -n " NS_A " link add nm0 type veth peer name nm1 netns " NS_B) ||
	    run("ip -n " NS_A " addr add 10.199.0.1/24 dev nm0") ||
	    run("ip -n " NS_B " addr add " IP_B "/24 dev nm1") ||
	    run("ip -n " NS_A " link set nm0 up") || run("ip -n " NS_B " link set nm1 up") ||
	    run(a) || run(b)) {
		link_down();
		return -1;
	}
	return 0;
}

FIXTURE(netem)
{
	int home, ns[2];		/* our netns; NS_A (client), NS_B (server) */
	int lfd, cfd, afd;
	size_t len;
	unsigned char *tx[2], *rx[2];
};

FIXTURE_VARIANT(netem)
{
	int proto;
	const char *netem;
	bool ofo;			/* the receiver must queue out of order */
	bool corrupt;			/* checksum drops must be counted */
};

#define NETEM_CASE(name, p, spec, o, c)					\
	FIXTURE_VARIANT_ADD(netem, name) {				\
		.proto = p, .netem = spec, .ofo = o, .corrupt = c,	\
	}

NETEM_CASE(tcp_loss5, IPPROTO_TCP, "loss 5%", true, false);
NETEM_CASE(estp_loss5, IPPROTO_ESTP, "loss 5%", true, false);
NETEM_CASE(tcp_reorder, IPPROTO_TCP, "delay 10ms 5ms reorder 25%", true, false);
NETEM_CASE(estp_reorder, IPPROTO_ESTP, "delay 10ms 5ms reorder 25%", true, false);
NETEM_CASE(tcp_dup_corrupt, IPPROTO_TCP, "duplicate 5% corrupt 1%", false, true);
NETEM_CASE(estp_dup_corrupt, IPPROTO_ESTP, "duplicate 5% corrupt 1%", false, true);

/* A socket of @proto inside netns @ns. */
static int socket_in(FIXTURE_DATA(netem) *self, int ns, int proto)
{
	int fd;

	if (setns(self->ns[ns], CLONE_NEWNET))
		return -1;
	fd = socket(AF_INET, SOCK_STREAM, proto);
	if (setns(self->home, CLONE_NEWNET)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The receive-side counter @what of @proto in netns @ns, or -1. */
static long counter_in(FIXTURE_DATA(netem) *self, int ns, int proto, const char *what)
{
	long v;

	if (setns(self->ns[ns], CLONE_NEWNET))
		return -1;
	if (!strcmp(what, "ofo"))
		v = proto == IPPROTO_TCP ?
		    estp_proc_counter("/proc/net/netstat", "TcpExt", "TCPOFOQueue") :
		    estp_stat("OfoQueue");
	else
		v = proto == IPPROTO_TCP ?
		    estp_proc_counter("/proc/net/snmp", "Tcp", "InCsumErrors") :
		    estp_stat("InCsumErrors");
	if (setns(self->home, CLONE_NEWNET))
		return -1;
	return v;
}

FIXTURE_SETUP(netem)
{
	struct sockaddr_in sin = estp_sin4(IP_B, PORT);
	struct timeval tv = { .tv_sec = 60 };
	int i, j;

	self->lfd = self->cfd = self->afd = -1;
	self->ns[0] = self->ns[1] = -1;
	self->len = getenv("STRESS") && strcmp(getenv("STRESS"), "0") ? XFER_STRESS : XFER_LEN;
	for (i = 0; i < 2; i++) {
		self->tx[i] = malloc(self->len);
		self->rx[i] = malloc(self->len + 1);
		ASSERT_TRUE(self->tx[i] && self->rx[i]);
		for (j = 0; j < (int)self->len; j++)
			self->tx[i][j] = (j * 131 + i * 7 + j / 4093) & 0xff;
	}
	self->home = open("/proc/self/ns/net", O_RDONLY);
	ASSERT_LE(0, self->home);
	ASSERT_EQ(0, link_up(variant->netem)) TH_LOG("ip/tc netem setup failed");
	self->ns[0] = open("/run/netns/" NS_A, O_RDONLY);
	self->ns[1] = open("/run/netns/" NS_B, O_RDONLY);
	ASSERT_LE(0, self->ns[0]);
	ASSERT_LE(0, self->ns[1]);

	self->lfd = socket_in(self, 1, variant->proto);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(self->lfd, 1));
	self->cfd = socket_in(self, 0, variant->proto);
	ASSERT_LE(0, self->cfd);
	/* A lost SYN costs a 1 s timeout: allow a few. */
	ASSERT_EQ(0, connect(self->cfd, (struct sockaddr *)&sin, sizeof(sin)));
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
	for (i = 0; i < 2; i++) {
		int fd = i ? self->afd : self->cfd;

		ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
		ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	}
}

FIXTURE_TEARDOWN(netem)
{
	int i;

	/* Aborted, so that nothing of ESTP outlives the netns. */
	estp_close_abort(&self->afd);
	estp_close_abort(&self->cfd);
	estp_close_abort(&self->lfd);
	for (i = 0; i < 2; i++) {
		free(self->tx[i]);
		free(self->rx[i]);
		if (self->ns[i] >= 0)
			close(self->ns[i]);
	}
	link_down();
	close(self->home);
}

struct side {
	int fd;
	const unsigned char *tx;
	unsigned char *rx;
	size_t len, sent, got;
	int err;
};

/* Sends everything, then half-closes; the other thread reads. */
static void *writer(void *arg)
{
	struct side *s = arg;

	while (s->sent < s->len) {
		ssize_t n = send(s->fd, s->tx + s->sent, s->len - s->sent, MSG_NOSIGNAL);

		if (n <= 0) {
			s->err = n ? errno : EIO;
			return NULL;
		}
		s->sent += n;
	}
	shutdown(s->fd, SHUT_WR);
	return NULL;
}

static void *reader(void *arg)
{
	struct side *s = arg;

	for (;;) {
		ssize_t n = recv(s->fd, s->rx + s->got, s->len + 1 - s->got, 0);

		if (n < 0)
			s->err = errno;
		if (n <= 0)
			return NULL;
		s->got += n;
	}
}

TEST_F_TIMEOUT(netem, both_ways, 240)
{
	struct side s[2] = {
		{ .fd = self->cfd, .tx = self->tx[0], .rx = self->rx[0], .len = self->len },
		{ .fd = self->afd, .tx = self->tx[1], .rx = self->rx[1], .len = self->len },
	};
	long ofo = counter_in(self, 1, variant->proto, "ofo");
	long csum = counter_in(self, 1, variant->proto, "csum");
	pthread_t w[2], r[2];
	struct side rs[2];
	int i;

	ASSERT_LE(0, ofo);
	ASSERT_LE(0, csum);
	for (i = 0; i < 2; i++) {
		rs[i] = s[i];
		ASSERT_EQ(0, pthread_create(&w[i], NULL, writer, &s[i]));
		ASSERT_EQ(0, pthread_create(&r[i], NULL, reader, &rs[i]));
	}
	for (i = 0; i < 2; i++) {
		pthread_join(w[i], NULL);
		pthread_join(r[i], NULL);
	}
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, s[i].err) TH_LOG("side %d send: %s", i, strerror(s[i].err));
		EXPECT_EQ(0, rs[i].err) TH_LOG("side %d recv: %s", i, strerror(rs[i].err));
		EXPECT_EQ(self->len, s[i].sent);
		ASSERT_EQ(self->len, rs[i].got) TH_LOG("side %d", i);
		/* Side 0 (client) read what side 1 (server) sent, and back. */
		EXPECT_EQ(0, memcmp(rs[i].rx, self->tx[!i], self->len)) TH_LOG("side %d", i);
	}
	/*
	 * The server's netns saw the link's work.  Only ESTP's counters are
	 * asserted: TCP's on a veth depend on GSO/GRO offloads (6.12 counted
	 * neither out-of-order segments nor checksum drops in a whole run).
	 */
	if (variant->proto != IPPROTO_ESTP)
		return;
	if (variant->ofo)
		EXPECT_LT(ofo, counter_in(self, 1, variant->proto, "ofo"));
	if (variant->corrupt)
		EXPECT_LT(csum, counter_in(self, 1, variant->proto, "csum"));
}

TEST_HARNESS_MAIN
