// SPDX-License-Identifier: GPL-2.0
/*
 * Bytes over a bad link: two netns joined by a veth pair whose both ends
 * run the same tc netem: loss of 1%, 5% and 10%, reordering of 25%, 5%
 * duplication, 1% corruption, and a 20 ms delay with jitter.  Each side
 * sends 8 MiB (STRESS=1: 64 MiB) to the other at once; what arrives must be
 * exactly what was sent, and the receiver's counters show the link's work
 * (out-of-order queueing, checksum drops) and the sender's its recovery
 * (retransmissions).  TCP and ESTP run the same cases, each on IPv4
 * (estp_netem_test), IPv6 (fd00::/64 on the veth pair) and v4-mapped IPv6
 * (estp_netem6_test, built from this file); TCP is the specification of
 * "every byte arrives".  Each case prints how long its
 * transfer took; nothing asserts a time.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <netinet/in.h>

#include "kselftest_harness.h"
#include "estp_lib.h"

#define NS_A		"estp-nm-a"
#define NS_B		"estp-nm-b"
#define IP_B		"10.199.0.2"
#define PORT		21800
/* Each way, at once; make check STRESS=1 moves 64 MiB. */
#define XFER_LEN	(8 << 20)
#define XFER_STRESS	(64 << 20)

static const struct estp_veth veth = {
	.ns_a = NS_A, .ns_b = NS_B,
	.dev_a = "nm0", .dev_b = "nm1",
	.ip_a = "10.199.0.1", .ip_b = IP_B,
	.ip6 = 1,
};

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
	int fam;			/* enum estp_fam */
	const char *netem;
	bool ofo;			/* the receiver must queue out of order */
	bool corrupt;			/* checksum drops must be counted */
	bool loss;			/* both senders must retransmit */
};

#ifdef ESTP_NETEM_V6
/*
 * estp_netem6_test: each case on IPv6 and v4-mapped, TCP and ESTP
 * (tcp6_loss1, tcp_mapped_loss1, estp6_loss1, estp_mapped_loss1...); all
 * six families in one program would outlast the runner's timeout.
 */
#define NETEM_CASE(name, spec, o, c, l)					\
	FIXTURE_VARIANT_ADD(netem, tcp6_##name) {			\
		.proto = IPPROTO_TCP, .fam = ESTP_FAM6, .netem = spec,	\
		.ofo = o, .corrupt = c, .loss = l,			\
	};								\
	FIXTURE_VARIANT_ADD(netem, tcp_mapped_##name) {			\
		.proto = IPPROTO_TCP, .fam = ESTP_FAM_MAPPED,		\
		.netem = spec, .ofo = o, .corrupt = c, .loss = l,	\
	};								\
	FIXTURE_VARIANT_ADD(netem, estp6_##name) {			\
		.proto = IPPROTO_ESTP, .fam = ESTP_FAM6, .netem = spec,	\
		.ofo = o, .corrupt = c, .loss = l,			\
	};								\
	FIXTURE_VARIANT_ADD(netem, estp_mapped_##name) {		\
		.proto = IPPROTO_ESTP, .fam = ESTP_FAM_MAPPED,		\
		.netem = spec, .ofo = o, .corrupt = c, .loss = l,	\
	}
#else
/* estp_netem_test: each case on IPv4 (tcp4_loss1, estp4_loss1...). */
#define NETEM_CASE(name, spec, o, c, l)					\
	FIXTURE_VARIANT_ADD(netem, tcp4_##name) {			\
		.proto = IPPROTO_TCP, .fam = ESTP_FAM4, .netem = spec,	\
		.ofo = o, .corrupt = c, .loss = l,			\
	};								\
	FIXTURE_VARIANT_ADD(netem, estp4_##name) {			\
		.proto = IPPROTO_ESTP, .fam = ESTP_FAM4, .netem = spec,	\
		.ofo = o, .corrupt = c, .loss = l,			\
	}
#endif

NETEM_CASE(loss1, "loss 1%", true, false, true);
NETEM_CASE(loss5, "loss 5%", true, false, true);
NETEM_CASE(loss10, "loss 10%", true, false, true);
/* netem reorders by sending 25% at once and delaying the rest. */
NETEM_CASE(reorder25, "delay 10ms reorder 25%", true, false, false);
NETEM_CASE(duplicate5, "duplicate 5%", false, false, false);
/* A corrupted segment is dropped by the checksum: a loss to the sender. */
NETEM_CASE(corrupt1, "corrupt 1%", false, true, true);
/* Jitter makes netem's time-ordered queue reorder too. */
NETEM_CASE(delay20_jitter, "delay 20ms 5ms", true, false, false);

/* A socket of @proto and @fam inside netns @ns. */
static int socket_in(FIXTURE_DATA(netem) *self, int ns, int proto, int fam)
{
	int fd;

	if (setns(self->ns[ns], CLONE_NEWNET))
		return -1;
	fd = estp_socket(proto, fam);
	if (setns(self->home, CLONE_NEWNET)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The counter @what of @proto in netns @ns, or -1: "ofo" (segments queued
 * out of order), "csum" (checksum drops) or "retrans" (segments resent).
 */
static long counter_in(FIXTURE_DATA(netem) *self, int ns, int proto, const char *what)
{
	bool tcp = proto == IPPROTO_TCP;
	long v;

	if (setns(self->ns[ns], CLONE_NEWNET))
		return -1;
	if (!strcmp(what, "ofo"))
		v = tcp ? estp_proc_counter("/proc/net/netstat", "TcpExt", "TCPOFOQueue") :
		    estp_stat("OfoQueue");
	else if (!strcmp(what, "retrans"))
		v = tcp ? estp_proc_counter("/proc/net/snmp", "Tcp", "RetransSegs") :
		    estp_stat("RetransSegs");
	else
		v = tcp ? estp_proc_counter("/proc/net/snmp", "Tcp", "InCsumErrors") :
		    estp_stat("InCsumErrors");
	if (setns(self->home, CLONE_NEWNET))
		return -1;
	return v;
}

FIXTURE_SETUP(netem)
{
	struct sockaddr_storage ss;
	socklen_t sslen = estp_sockaddr(variant->fam, IP_B, PORT, &ss);
	struct timeval tv = { .tv_sec = 60 };
	int i;

	self->lfd = self->cfd = self->afd = -1;
	self->ns[0] = self->ns[1] = -1;
	self->len = getenv("STRESS") && strcmp(getenv("STRESS"), "0") ? XFER_STRESS : XFER_LEN;
	for (i = 0; i < 2; i++) {
		self->tx[i] = malloc(self->len);
		self->rx[i] = malloc(self->len + 1);
		ASSERT_TRUE(self->tx[i] && self->rx[i]);
		/* Streams that never repeat: misplaced data cannot compare equal. */
		estp_pattern_fill(self->tx[i], self->len, 0, 0x6e6574656d00ULL + i);
	}
	self->home = open("/proc/self/ns/net", O_RDONLY);
	ASSERT_LE(0, self->home);
	ASSERT_EQ(0, estp_veth_up(&veth, variant->netem)) TH_LOG("ip/tc netem setup failed");
	self->ns[0] = open("/run/netns/" NS_A, O_RDONLY);
	self->ns[1] = open("/run/netns/" NS_B, O_RDONLY);
	ASSERT_LE(0, self->ns[0]);
	ASSERT_LE(0, self->ns[1]);

	self->lfd = socket_in(self, 1, variant->proto, variant->fam);
	ASSERT_LE(0, self->lfd) TH_LOG("socket: %s", strerror(errno));
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&ss, sslen));
	ASSERT_EQ(0, listen(self->lfd, 1));
	self->cfd = socket_in(self, 0, variant->proto, variant->fam);
	ASSERT_LE(0, self->cfd);
	/* A lost SYN costs a 1 s timeout: allow a few. */
	ASSERT_EQ(0, connect(self->cfd, (struct sockaddr *)&ss, sslen));
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
	estp_veth_down(&veth);
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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Generous: under TCG 8 MiB each way over 10% loss takes tens of seconds,
 * and STRESS=1 moves eight times as much.  A stalled connection fails
 * sooner, on the sockets' 60 s SO_RCVTIMEO/SO_SNDTIMEO.
 */
TEST_F_TIMEOUT(netem, both_ways, 3600)
{
	struct side s[2] = {
		{ .fd = self->cfd, .tx = self->tx[0], .rx = self->rx[0], .len = self->len },
		{ .fd = self->afd, .tx = self->tx[1], .rx = self->rx[1], .len = self->len },
	};
	long ofo = counter_in(self, 1, variant->proto, "ofo");
	long csum = counter_in(self, 1, variant->proto, "csum");
	long retrans[2] = {
		counter_in(self, 0, variant->proto, "retrans"),
		counter_in(self, 1, variant->proto, "retrans"),
	};
	pthread_t w[2], r[2];
	struct side rs[2];
	double t;
	int i;

	ASSERT_LE(0, ofo);
	ASSERT_LE(0, csum);
	ASSERT_LE(0, retrans[0]);
	ASSERT_LE(0, retrans[1]);
	t = now_s();
	for (i = 0; i < 2; i++) {
		rs[i] = s[i];
		ASSERT_EQ(0, pthread_create(&w[i], NULL, writer, &s[i]));
		ASSERT_EQ(0, pthread_create(&r[i], NULL, reader, &rs[i]));
	}
	for (i = 0; i < 2; i++) {
		pthread_join(w[i], NULL);
		pthread_join(r[i], NULL);
	}
	t = now_s() - t;
	ksft_print_msg("%s %s \"%s\": %zu MiB each way in %.1f s, resent %ld + %ld segments\n",
		       variant->proto == IPPROTO_TCP ? "TCP" : "ESTP",
		       ESTP_FAM_NAME(variant->fam), variant->netem,
		       self->len >> 20, t,
		       counter_in(self, 0, variant->proto, "retrans") - retrans[0],
		       counter_in(self, 1, variant->proto, "retrans") - retrans[1]);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, s[i].err) TH_LOG("side %d send: %s", i, strerror(s[i].err));
		EXPECT_EQ(0, rs[i].err) TH_LOG("side %d recv: %s", i, strerror(rs[i].err));
		EXPECT_EQ(self->len, s[i].sent);
		/* Exactly len bytes and then the end of the stream. */
		ASSERT_EQ(self->len, rs[i].got) TH_LOG("side %d", i);
		/* Side 0 (client) read what side 1 (server) sent, and back. */
		EXPECT_EQ(0, memcmp(rs[i].rx, self->tx[!i], self->len)) TH_LOG("side %d", i);
	}
	/*
	 * The netns saw the link's work.  Only ESTP's counters are asserted:
	 * TCP's on a veth depend on GSO/GRO offloads (6.12 counted neither
	 * out-of-order segments nor checksum drops in a whole run).
	 */
	if (variant->proto != IPPROTO_ESTP)
		return;
	if (variant->ofo)
		EXPECT_LT(ofo, counter_in(self, 1, variant->proto, "ofo"));
	/* Every corrupted segment was dropped and counted, none delivered. */
	if (variant->corrupt)
		EXPECT_LT(csum, counter_in(self, 1, variant->proto, "csum"));
	for (i = 0; i < 2 && variant->loss; i++)
		EXPECT_LT(retrans[i], counter_in(self, i, variant->proto, "retrans"))
			TH_LOG("netns %d resent nothing", i);
}

#ifdef ESTP_NETEM_V6
/* Under ESTP_FAMILIES=subset, two cases of seven. */
ESTP_HARNESS_MAIN("tcp6_loss5.both_ways", "estp6_loss5.both_ways",
		  "tcp_mapped_corrupt1.both_ways", "estp_mapped_corrupt1.both_ways")
#else
TEST_HARNESS_MAIN
#endif
