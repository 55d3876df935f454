// SPDX-License-Identifier: GPL-2.0
/*
 * Fast Open (RFC 7413) between real sockets: a client without a cookie
 * asks for one and sends its data after the handshake; with the cookie,
 * its SYN carries the data, which the server reads once and in order;
 * ESTP_FASTOPEN_CONNECT defers the SYN to the first write; the listener's
 * keys rotate with a backup key, and a cookie no key made falls back to
 * the handshake with the data intact; the options' values and errors; a
 * blackhole (all dropped after the SYN) pauses active Fast Open.
 * TCP is the specification: every TEST_F runs for TCP and ESTP, on IPv4,
 * IPv6 and v4-mapped IPv6, each in a netns of its own (its cookie cache,
 * counters and sysctls fresh), and asserts what TCP does, counter for
 * counter.  Fixture fo_hold holds a Fast Open child in SYN_RECV (a tc
 * filter on lo drops the client's pure ACKs) and ends it every way on
 * every family: the client's RST, the SYN-ACK's retries, SOCK_DESTROY,
 * the listener's close; each checks the listener's one fastopen queue
 * place as TCP leaves it (free at once, or held 60 s after a RST that
 * came after accept()).  estp_fastopen_peer_test does the same on IPv4
 * against a scripted raw peer, segment by segment.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "estp_lib.h"

#ifndef SOL_TCP
#define SOL_TCP		IPPROTO_TCP
#endif
#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN	0x20000000
#endif
#ifndef TCPI_OPT_SYN_DATA
#define TCPI_OPT_SYN_DATA	32
#endif

#define FO_PORT		20300
#define FO_QLEN		16
#define KEY_LEN		16

/* The Fast Open counters, TCP's TcpExt names without "TCP". */
static const char *const fo_counters[] = {
	"FastOpenActive", "FastOpenActiveFail", "FastOpenPassive",
	"FastOpenPassiveFail", "FastOpenListenOverflow", "FastOpenCookieReqd",
	"FastOpenPassiveAltKey", "FastOpenBlackhole",
};

struct fo_counts {
	long v[ARRAY_SIZE(fo_counters)];
};

FIXTURE(fo)
{
	int lfd;
	struct sockaddr_storage addr;
	socklen_t alen;
	struct fo_counts base;
	uint64_t seed;
};

FIXTURE_VARIANTS_FAMILIES(fo);

static const char *fo_sysctl(int proto)
{
	return proto == IPPROTO_TCP ? "/proc/sys/net/ipv4/tcp_fastopen" :
				      "/proc/sys/net/estp/fastopen";
}

static void fo_snapshot(int proto, struct fo_counts *c)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fo_counters); i++)
		c->v[i] = estp_counter(proto, fo_counters[i]);
}

/*
 * Every Fast Open counter moved from @self->base by what @want names
 * ("Name=delta,..."), the others not at all; the new values become the base.
 */
static int fo_expect(struct __test_metadata *_metadata, FIXTURE_DATA(fo) *self,
		     int proto, const char *want)
{
	struct fo_counts now;
	int ok = 1;
	size_t i;

	fo_snapshot(proto, &now);
	for (i = 0; i < ARRAY_SIZE(fo_counters); i++) {
		const char *p = strstr(want, fo_counters[i]);
		long delta = 0;

		/* The name, whole: "FastOpenPassive" is in "...PassiveFail". */
		while (p && p[strlen(fo_counters[i])] != '=')
			p = strstr(p + 1, fo_counters[i]);
		if (p)
			delta = strtol(p + strlen(fo_counters[i]) + 1, NULL, 10);
		if (now.v[i] < 0 || now.v[i] - self->base.v[i] != delta) {
			TH_LOG("%s moved by %ld, expected %ld (%s)", fo_counters[i],
			       now.v[i] - self->base.v[i], delta, want);
			ok = 0;
		}
	}
	self->base = now;
	return ok;
}

FIXTURE_SETUP(fo)
{
	int qlen = FO_QLEN;

	ASSERT_EQ(0, estp_netns_private());
	/* Client and server on, as TCP's 0x3. */
	ASSERT_EQ(0, estp_sysctl_set(fo_sysctl(variant->proto), "3"));
	self->lfd = estp_listen_fam(variant->proto, variant->fam, "127.0.0.1", FO_PORT, 64);
	ASSERT_LE(0, self->lfd) TH_LOG("listen: %s", strerror(errno));
	ASSERT_EQ(0, setsockopt(self->lfd, SOL_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)));
	self->alen = estp_loopback(variant->fam, FO_PORT, &self->addr);
	ASSERT_NE(0U, self->alen);
	self->seed = (uint64_t)variant->proto << 8 | variant->fam;
	fo_snapshot(variant->proto, &self->base);
}

FIXTURE_TEARDOWN(fo)
{
	close(self->lfd);
}

/* The connection's TCP_INFO in *@ti: 0 or -1. */
static int fo_info(int fd, struct tcp_info *ti)
{
	socklen_t len = sizeof(*ti);

	memset(ti, 0, sizeof(*ti));
	return getsockopt(fd, SOL_TCP, TCP_INFO, ti, &len) ? -1 : 0;
}

/* The connection's tcpi_options, or -1. */
static int fo_tcpi_options(int fd)
{
	struct tcp_info ti;

	return fo_info(fd, &ti) ? -1 : ti.tcpi_options;
}

/* Reads @len bytes of the pattern from stream offset @off: 0 or -1. */
static int fo_read_pattern(int fd, size_t len, uint64_t off, uint64_t seed)
{
	unsigned char buf[4096];
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = recv(fd, buf, sizeof(buf) < len - got ? sizeof(buf) : len - got, 0);
		if (n <= 0)
			return -1;
		if (estp_pattern_check(buf, n, off + got, seed) >= 0)
			return -1;
		got += n;
	}
	return 0;
}

/*
 * One exchange: a client sends @len bytes of the pattern with
 * sendto(MSG_FASTOPEN) (whole: a blocking socket), the accepted end reads
 * them; then the two ends' tcpi_options in *@copt and *@aopt.  0 or -1.
 */
static int fo_exchange(struct __test_metadata *_metadata, FIXTURE_DATA(fo) *self,
		       const FIXTURE_VARIANT(fo) *variant, size_t len, int *copt, int *aopt)
{
	unsigned char *buf = malloc(len);
	int cfd, afd, ret = -1;
	ssize_t n;

	if (!buf)
		return -1;
	estp_pattern_fill(buf, len, 0, self->seed);
	cfd = estp_socket(variant->proto, variant->fam);
	if (cfd < 0)
		goto out;
	n = sendto(cfd, buf, len, MSG_FASTOPEN, (struct sockaddr *)&self->addr, self->alen);
	if (n != (ssize_t)len) {
		TH_LOG("sendto(MSG_FASTOPEN): %zd, %s", n, strerror(errno));
		goto out_c;
	}
	afd = accept(self->lfd, NULL, NULL);
	if (afd < 0)
		goto out_c;
	if (fo_read_pattern(afd, len, 0, self->seed)) {
		TH_LOG("the server read other bytes than were sent");
	} else {
		*copt = fo_tcpi_options(cfd);
		*aopt = fo_tcpi_options(afd);
		ret = 0;
	}
	close(afd);
out_c:
	close(cfd);
out:
	free(buf);
	return ret;
}

/*
 * The first connection asks for a cookie: its data goes after the
 * handshake.  The second's SYN carries data with the cookie: the server
 * reads it once and in order, the part past the SYN after it.
 */
TEST_F(fo, cookie_then_data)
{
	int copt = 0, aopt = 0;

	ASSERT_EQ(0, fo_exchange(_metadata, self, variant, 100, &copt, &aopt));
	EXPECT_TRUE(fo_expect(_metadata, self, variant->proto, "FastOpenCookieReqd=1"));
	EXPECT_EQ(0, copt & TCPI_OPT_SYN_DATA);
	EXPECT_EQ(0, aopt & TCPI_OPT_SYN_DATA);

	/* More than a SYN carries: the rest follows the handshake. */
	ASSERT_EQ(0, fo_exchange(_metadata, self, variant, 20000, &copt, &aopt));
	EXPECT_TRUE(fo_expect(_metadata, self, variant->proto,
			      "FastOpenActive=1,FastOpenPassive=1"));
	EXPECT_EQ(TCPI_OPT_SYN_DATA, copt & TCPI_OPT_SYN_DATA);
	EXPECT_EQ(TCPI_OPT_SYN_DATA, aopt & TCPI_OPT_SYN_DATA);

	ASSERT_EQ(0, fo_exchange(_metadata, self, variant, 1, &copt, &aopt));
	EXPECT_TRUE(fo_expect(_metadata, self, variant->proto,
			      "FastOpenActive=1,FastOpenPassive=1"));
}

/*
 * ESTP_FASTOPEN_CONNECT: without a cookie connect() sends a SYN asking for
 * one and completes; with it, connect() returns at once, the socket is
 * writable, and the first write's SYN carries the data.
 */
TEST_F(fo, fastopen_connect)
{
	const char msg[] = "deferred";
	char buf[sizeof(msg)];
	struct pollfd pfd;
	int one = 1, i, cfd, afd;

	for (i = 0; i < 2; i++) {
		cfd = estp_socket(variant->proto, variant->fam);
		ASSERT_LE(0, cfd);
		ASSERT_EQ(0, setsockopt(cfd, SOL_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)));
		ASSERT_EQ(1, estp_getsockopt_int(cfd, SOL_TCP, TCP_FASTOPEN_CONNECT));
		ASSERT_EQ(0, connect(cfd, (struct sockaddr *)&self->addr, self->alen))
			TH_LOG("connect: %s", strerror(errno));
		pfd.fd = cfd;
		pfd.events = POLLOUT;
		EXPECT_EQ(1, poll(&pfd, 1, 0));
		ASSERT_EQ((ssize_t)sizeof(msg), send(cfd, msg, sizeof(msg), 0));
		afd = accept(self->lfd, NULL, NULL);
		ASSERT_LE(0, afd);
		ASSERT_EQ((ssize_t)sizeof(msg), recv(afd, buf, sizeof(buf), MSG_WAITALL));
		EXPECT_EQ(0, memcmp(buf, msg, sizeof(msg)));
		EXPECT_EQ(i ? TCPI_OPT_SYN_DATA : 0, fo_tcpi_options(cfd) & TCPI_OPT_SYN_DATA);
		close(afd);
		close(cfd);
	}
	EXPECT_TRUE(fo_expect(_metadata, self, variant->proto,
			      "FastOpenCookieReqd=1,FastOpenActive=1,FastOpenPassive=1"));
}

static void fo_key(unsigned char *key, unsigned char fill)
{
	memset(key, fill, KEY_LEN);
}

/*
 * The listener's own keys: a cookie of the backup key is still taken (and
 * the SYN-ACK carries the primary's); one of no key falls back to the
 * handshake, the data intact, and its SYN-ACK's cookie serves the next.
 */
TEST_F(fo, key_rotation)
{
	unsigned char keys[2 * KEY_LEN], got[2 * KEY_LEN];
	socklen_t len = sizeof(got);
	int copt = 0, aopt = 0;

	fo_key(keys, 0xa1);
	ASSERT_EQ(0, setsockopt(self->lfd, SOL_TCP, TCP_FASTOPEN_KEY, keys, KEY_LEN));
	ASSERT_EQ(0, getsockopt(self->lfd, SOL_TCP, TCP_FASTOPEN_KEY, got, &len));
	EXPECT_EQ((socklen_t)KEY_LEN, len);
	EXPECT_EQ(0, memcmp(got, keys, KEY_LEN));
	ASSERT_EQ(0, fo_exchange(_metadata, self, variant, 500, &copt, &aopt));
	ASSERT_EQ(0, fo_exchange(_metadata, self, variant, 500, &copt, &aopt));
	EXPECT_TRUE(fo_expect(_metadata, self, variant->proto,
			      "FastOpenCookieReqd=1,FastOpenActive=1,FastOpenPassive=1"));

	/* B primary, A backup: A's cookie is good once, B's comes back. */
	fo_key(keys, 0xb2);
	fo_key(keys + KEY_LEN, 0xa1);
	ASSERT_EQ(0, setsockopt(self->lfd, SOL_TCP, TCP_FASTOPEN_KEY, keys, sizeof(keys)));
	len = sizeof(got);
	ASSERT_EQ(0, getsockopt(self->lfd, SOL_TCP, TCP_FASTOPEN_KEY, got, &len));
	EXPECT_EQ((socklen_t)(2 * KEY_LEN), len);
	EXPECT_EQ(0, memcmp(got, keys, sizeof(keys)));
	ASSERT_EQ(0, fo_exchange(_metadata, self, variant, 500, &copt, &aopt));
	EXPECT_TRUE(fo_expect(_metadata, self, variant->proto,
			      "FastOpenActive=1,FastOpenPassive=1,FastOpenPassiveAltKey=1"));
	ASSERT_EQ(0, fo_exchange(_metadata, self, variant, 500, &copt, &aopt));
	EXPECT_TRUE(fo_expect(_metadata, self, variant->proto,
			      "FastOpenActive=1,FastOpenPassive=1"));

	/* C alone: B's cookie fails, the data goes after the handshake. */
	fo_key(keys, 0xc3);
	ASSERT_EQ(0, setsockopt(self->lfd, SOL_TCP, TCP_FASTOPEN_KEY, keys, KEY_LEN));
	ASSERT_EQ(0, fo_exchange(_metadata, self, variant, 3000, &copt, &aopt));
	EXPECT_TRUE(fo_expect(_metadata, self, variant->proto,
			      "FastOpenPassiveFail=1,FastOpenActiveFail=1"));
	EXPECT_EQ(0, copt & TCPI_OPT_SYN_DATA);
	ASSERT_EQ(0, fo_exchange(_metadata, self, variant, 3000, &copt, &aopt));
	EXPECT_TRUE(fo_expect(_metadata, self, variant->proto,
			      "FastOpenActive=1,FastOpenPassive=1"));
	EXPECT_EQ(TCPI_OPT_SYN_DATA, copt & TCPI_OPT_SYN_DATA);
}

/* The options' values, states and errors, as TCP's. */
TEST_F(fo, sockopts)
{
	unsigned char key[KEY_LEN + 1] = { 0 };
	socklen_t len = sizeof(key);
	int fd, val = -1, afd, cfd;

	EXPECT_EQ(FO_QLEN, estp_getsockopt_int(self->lfd, SOL_TCP, TCP_FASTOPEN));
	EXPECT_EQ(-1, setsockopt(self->lfd, SOL_TCP, TCP_FASTOPEN, &val, sizeof(val)));
	EXPECT_EQ(EINVAL, errno);
	/* No key of its own: an empty answer. */
	EXPECT_EQ(0, getsockopt(self->lfd, SOL_TCP, TCP_FASTOPEN_KEY, key, &len));
	EXPECT_EQ(0U, len);
	EXPECT_EQ(-1, setsockopt(self->lfd, SOL_TCP, TCP_FASTOPEN_KEY, key, KEY_LEN + 1));
	EXPECT_EQ(EINVAL, errno);
	val = 2;
	EXPECT_EQ(-1, setsockopt(self->lfd, SOL_TCP, TCP_FASTOPEN_NO_COOKIE, &val, sizeof(val)));
	EXPECT_EQ(EINVAL, errno);
	val = 1;
	EXPECT_EQ(0, setsockopt(self->lfd, SOL_TCP, TCP_FASTOPEN_NO_COOKIE, &val, sizeof(val)));
	EXPECT_EQ(1, estp_getsockopt_int(self->lfd, SOL_TCP, TCP_FASTOPEN_NO_COOKIE));
	/* A listener may not defer its connect; a connected sock no queue. */
	EXPECT_EQ(-1, setsockopt(self->lfd, SOL_TCP, TCP_FASTOPEN_CONNECT, &val, sizeof(val)));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, estp_pair_fam(variant->proto, variant->fam, 0, &cfd, &afd));
	EXPECT_EQ(-1, setsockopt(cfd, SOL_TCP, TCP_FASTOPEN, &val, sizeof(val)));
	EXPECT_EQ(EINVAL, errno);
	/* A connected sock: sendto(MSG_FASTOPEN) is EISCONN. */
	EXPECT_EQ(-1, sendto(cfd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&self->addr,
			     self->alen));
	EXPECT_EQ(EISCONN, errno);
	close(cfd);
	close(afd);

	/* The client bit off: both client paths are EOPNOTSUPP. */
	ASSERT_EQ(0, estp_sysctl_set(fo_sysctl(variant->proto), "2"));
	fd = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, setsockopt(fd, SOL_TCP, TCP_FASTOPEN_CONNECT, &val, sizeof(val)));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&self->addr,
			     self->alen));
	EXPECT_EQ(EOPNOTSUPP, errno);
	close(fd);
}

/*
 * With net.*.fastopen's 0x4 the client's SYN carries data without a
 * cookie, and with 0x200 the server takes it so.
 */
/*
 * A path that drops all that follows a Fast Open SYN
 * (tcp_fastopen_active_detect_blackhole()): the SYN's third timeout pauses
 * active Fast Open in the netns (net.*.fastopen_blackhole_timeout_sec, 0
 * by default), counted as FastOpenActiveFail and FastOpenBlackhole; the
 * next connection's SYN then carries neither data nor the option.  The
 * SYN's timeouts take 3 s; 90 s for the rest on a slow guest.
 */
TEST_F_TIMEOUT(fo, blackhole_pause, 90)
{
	static const char m4[] = "match u8 0x45 0xff at 0 match ip protocol";
	int v6 = variant->fam == ESTP_FAM6, copt = 0, aopt = 0, cfd, i;

	ASSERT_EQ(0, estp_sysctl_set(variant->proto == IPPROTO_TCP ?
				     "/proc/sys/net/ipv4/tcp_fastopen_blackhole_timeout_sec" :
				     "/proc/sys/net/estp/fastopen_blackhole_timeout_sec", "3600"));
	ASSERT_EQ(0, fo_exchange(_metadata, self, variant, 100, &copt, &aopt));
	EXPECT_TRUE(fo_expect(_metadata, self, variant->proto, "FastOpenCookieReqd=1"));

	/* Every segment to the listener's port dropped (IPv4: IHL 5). */
	ASSERT_EQ(0, estp_run("tc qdisc add dev lo root handle 1: prio"));
	ASSERT_EQ(0, estp_runf("%s %s u32 %s %d 0xff match u16 %d 0xffff at %d action drop",
			       "tc filter add dev lo parent 1: prio 1 protocol",
			       v6 ? "ipv6" : "ip", v6 ? "match ip6 protocol" : m4,
			       variant->proto, FO_PORT, v6 ? 42 : 22));
	cfd = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(1, sendto(cfd, "x", 1, MSG_FASTOPEN | MSG_DONTWAIT,
			    (struct sockaddr *)&self->addr, self->alen));
	/* SYN timeouts at 1 and 3 s: the pause begins at the second (30 s at most). */
	for (i = 0; i < 1500 && estp_counter(variant->proto, "FastOpenBlackhole") < 1; i++)
		usleep(20000);
	EXPECT_TRUE(fo_expect(_metadata, self, variant->proto,
			      "FastOpenActiveFail=1,FastOpenBlackhole=1"));
	estp_close_abort(&cfd);
	ASSERT_EQ(0, estp_run("tc qdisc del dev lo root"));

	/* Paused: a cookie in the cache, but the SYN goes without it. */
	ASSERT_EQ(0, fo_exchange(_metadata, self, variant, 100, &copt, &aopt));
	EXPECT_TRUE(fo_expect(_metadata, self, variant->proto, ""));
	EXPECT_EQ(0, copt & TCPI_OPT_SYN_DATA);
	EXPECT_EQ(0, aopt & TCPI_OPT_SYN_DATA);
}

TEST_F(fo, no_cookie)
{
	int copt = 0, aopt = 0;

	/* 0x207: client, server, and no cookie on either side. */
	ASSERT_EQ(0, estp_sysctl_set(fo_sysctl(variant->proto), "519"));
	ASSERT_EQ(0, fo_exchange(_metadata, self, variant, 700, &copt, &aopt));
	EXPECT_TRUE(fo_expect(_metadata, self, variant->proto,
			      "FastOpenActive=1,FastOpenPassive=1"));
	EXPECT_EQ(TCPI_OPT_SYN_DATA, copt & TCPI_OPT_SYN_DATA);
}

/*
 * Fast Open children held in SYN_RECV, on every family: real sockets make
 * the connection, and a u32 filter on lo drops the client's pure ACKs
 * (flags 0x10 alone) to the listener's port, so its final ACK never
 * comes; its RST and data still pass.  The filter is on lo's egress (a
 * prio qdisc), which every packet on lo passes: the debug kernel has no
 * ingress qdisc.  The listener's queue holds one such child, so the next
 * Fast Open SYN shows whether an ending freed its place.
 */
#define HOLD_PORT	20310
#define HOLD_LEN	10
#define HOLD_WAIT_MS	30000

FIXTURE(fo_hold)
{
	int lfd;
	int cfd[2], afd[2];
	struct sockaddr_storage addr;
	socklen_t alen;
	uint64_t seed;
};

FIXTURE_VARIANTS_FAMILIES(fo_hold);

/*
 * The filter: IPv4 (mapped too) by fixed offsets, as both stacks send no
 * IP options here (IHL 5 matched): dport at 22, flags at 20 + 13.  u32's
 * "nexthdr+" offsets need a hash table's "offset" to mean anything.
 * IPv6 with no extension header: flags at 40 + 13.
 */
static int fo_hold_filter(int proto, int fam)
{
	static const char tc[] = "tc filter add dev lo parent 1: prio 1 protocol";
	static const char m4[] = "ip u32 match u8 0x45 0xff at 0 match ip protocol";
	static const char m6[] = "ipv6 u32 match ip6 protocol";
	static const char ack[] = "match u8 0x10 0xff at";
	int v6 = fam == ESTP_FAM6;

	if (estp_run("tc qdisc add dev lo root handle 1: prio"))
		return -1;
	return estp_runf("%s %s %d 0xff match %s dport %d 0xffff %s %d action drop", tc,
			 v6 ? m6 : m4, proto, v6 ? "ip6" : "ip", HOLD_PORT, ack, v6 ? 53 : 33);
}

FIXTURE_SETUP(fo_hold)
{
	unsigned char c = 0;
	int cfd, afd, i;

	self->lfd = -1;
	for (i = 0; i < 2; i++) {
		self->cfd[i] = -1;
		self->afd[i] = -1;
	}
	ASSERT_EQ(0, estp_netns_private());
	ASSERT_EQ(0, estp_sysctl_set(fo_sysctl(variant->proto), "3"));
	self->lfd = estp_listen_fam(variant->proto, variant->fam, "127.0.0.1", HOLD_PORT, 16);
	ASSERT_LE(0, self->lfd) TH_LOG("listen: %s", strerror(errno));
	ASSERT_EQ(0, setsockopt(self->lfd, SOL_TCP, TCP_FASTOPEN, &(int){ 1 }, sizeof(int)));
	self->alen = estp_loopback(variant->fam, HOLD_PORT, &self->addr);
	ASSERT_NE(0U, self->alen);
	self->seed = (uint64_t)variant->proto << 8 | variant->fam;

	/* The cookie, before the filter: this handshake ends normally. */
	cfd = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(1, sendto(cfd, &c, 1, MSG_FASTOPEN, (struct sockaddr *)&self->addr,
			    self->alen));
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	ASSERT_EQ(1, recv(afd, &c, 1, 0));
	estp_close_abort(&cfd);
	estp_close_abort(&afd);
	ASSERT_EQ(1, estp_counter(variant->proto, "FastOpenCookieReqd"));
	ASSERT_EQ(0, fo_hold_filter(variant->proto, variant->fam))
		TH_LOG("tc: no prio qdisc or u32 filter on lo");
}

FIXTURE_TEARDOWN(fo_hold)
{
	int i;

	/* RSTs only: a child closed in SYN_RECV would retry its FIN. */
	for (i = 0; i < 2; i++)
		estp_close_abort(&self->cfd[i]);
	for (i = 0; i < 2; i++)
		estp_close_abort(&self->afd[i]);
	if (self->lfd >= 0)
		close(self->lfd);
}

/* The state TCP_INFO gives for @fd, or -1. */
static int fo_state(int fd)
{
	struct tcp_info ti;

	return fo_info(fd, &ti) ? -1 : ti.tcpi_state;
}

/*
 * Connection @i: the client's SYN carries HOLD_LEN bytes with the cookie
 * (sendto() returns once the SYN-ACK came); with @acc the child is
 * accepted and must be in SYN_RECV with the data readable (peeked, left
 * for the test).  Whether the SYN-ACK took the data: 1 or 0; -1 on error.
 */
static int fo_hold_open(struct __test_metadata *_metadata, FIXTURE_DATA(fo_hold) *self,
			const FIXTURE_VARIANT(fo_hold) *variant, int i, int acc)
{
	unsigned char buf[HOLD_LEN];
	int opt;

	estp_pattern_fill(buf, HOLD_LEN, i * HOLD_LEN, self->seed);
	self->cfd[i] = estp_socket(variant->proto, variant->fam);
	if (self->cfd[i] < 0)
		return -1;
	if (sendto(self->cfd[i], buf, HOLD_LEN, MSG_FASTOPEN, (struct sockaddr *)&self->addr,
		   self->alen) != HOLD_LEN) {
		TH_LOG("sendto(MSG_FASTOPEN): %s", strerror(errno));
		return -1;
	}
	opt = fo_tcpi_options(self->cfd[i]);
	if (opt < 0)
		return -1;
	if (!acc)
		return !!(opt & TCPI_OPT_SYN_DATA);
	self->afd[i] = accept(self->lfd, NULL, NULL);
	if (self->afd[i] < 0) {
		TH_LOG("accept: %s", strerror(errno));
		return -1;
	}
	if (fo_state(self->afd[i]) != TCP_SYN_RECV) {
		TH_LOG("child %d in state %d, not SYN_RECV: the filter let the ACK in?", i,
		       fo_state(self->afd[i]));
		return -1;
	}
	if (recv(self->afd[i], buf, HOLD_LEN, MSG_PEEK | MSG_DONTWAIT) != HOLD_LEN ||
	    estp_pattern_check(buf, HOLD_LEN, i * HOLD_LEN, self->seed) >= 0) {
		TH_LOG("child %d: the SYN's data not readable", i);
		return -1;
	}
	return !!(opt & TCPI_OPT_SYN_DATA);
}

/*
 * Waits for @fd to have an error or a hang-up (no POLLIN asked: the SYN's
 * data makes a child readable from the start): 0, or -1 at the deadline.
 */
static int fo_wait_err(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = 0 };

	if (poll(&pfd, 1, HOLD_WAIT_MS) != 1)
		return -1;
	return pfd.revents & (POLLERR | POLLHUP) ? 0 : -1;
}

/*
 * Reads @fd to its end: the SYN's HOLD_LEN bytes of connection @i when
 * @data, then the error; that errno, or -1 when the bytes were wrong or
 * the read ended without one.
 */
static int fo_read_err(int fd, int i, int data, uint64_t seed)
{
	unsigned char buf[HOLD_LEN + 1];

	if (data && (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) != HOLD_LEN ||
		     estp_pattern_check(buf, HOLD_LEN, i * HOLD_LEN, seed) >= 0))
		return -1;
	if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) != -1)
		return -1;
	return errno;
}

/*
 * Whether the queue's one place is free: connection 1's SYN data is taken
 * (the client's TCPI_OPT_SYN_DATA, a child in SYN_RECV with it) and no
 * overflow counted.  With @want 0, TCP's other answer: the place is held,
 * the SYN's data not taken, FastOpenListenOverflow counts one.
 */
static void fo_hold_next(struct __test_metadata *_metadata, FIXTURE_DATA(fo_hold) *self,
			 const FIXTURE_VARIANT(fo_hold) *variant, int want)
{
	EXPECT_EQ(want, fo_hold_open(_metadata, self, variant, 1, want));
	EXPECT_EQ(!want, estp_counter(variant->proto, "FastOpenListenOverflow"));
	EXPECT_EQ(1 + want, estp_counter(variant->proto, "FastOpenPassive"));
}

/*
 * The client resets (SO_LINGER 0: RST|ACK, which the filter passes) a
 * child accepted in SYN_RECV: the child reads the SYN's data, then
 * ECONNRESET.  TCP keeps the request sock of a child reset after accept()
 * in the queue 60 s (reqsk_fastopen_remove(), against spoofed SYNs), so
 * the next SYN's data is not taken and overflow counts.
 */
TEST_F(fo_hold, rst)
{
	ASSERT_EQ(1, fo_hold_open(_metadata, self, variant, 0, 1));
	estp_close_abort(&self->cfd[0]);
	ASSERT_EQ(0, fo_wait_err(self->afd[0]));
	EXPECT_EQ(ECONNRESET, fo_read_err(self->afd[0], 0, 1, self->seed));
	EXPECT_EQ(TCP_CLOSE, fo_state(self->afd[0]));
	fo_hold_next(_metadata, self, variant, 0);
}

/*
 * The SYN-ACK's retries run out (net.*.synack_retries 1, one more for a
 * Fast Open child: resends at 1 s and 3 s, the end at 7 s): the child
 * reads the SYN's data, then ETIMEDOUT, and its place is free.  Its
 * timers alone take 7 s of the harness's default 30, which the debug
 * kernel's setup (tc, a netns, a handshake) under TCG may use up.
 */
TEST_F_TIMEOUT(fo_hold, synack_retries, 90)
{
	ASSERT_EQ(0, estp_sysctl_set(variant->proto == IPPROTO_TCP ?
				     "/proc/sys/net/ipv4/tcp_synack_retries" :
				     "/proc/sys/net/estp/synack_retries", "1"));
	ASSERT_EQ(1, fo_hold_open(_metadata, self, variant, 0, 1));
	ASSERT_EQ(0, fo_wait_err(self->afd[0]));
	EXPECT_EQ(TCP_CLOSE, fo_state(self->afd[0]));
	EXPECT_EQ(ETIMEDOUT, fo_read_err(self->afd[0], 0, 1, self->seed));
	EXPECT_EQ(1, estp_counter(variant->proto, "AbortOnTimeout"));
	fo_hold_next(_metadata, self, variant, 1);
}

/*
 * SOCK_DESTROY of the child: the client is reset, the child reads the
 * SYN's data, then ECONNABORTED, and its place is free.
 */
TEST_F(fo_hold, abort)
{
	int ret;

	ASSERT_EQ(1, fo_hold_open(_metadata, self, variant, 0, 1));
	ret = estp_sock_destroy_fd(variant->proto, self->afd[0]);
	if (ret == -EOPNOTSUPP && variant->proto == IPPROTO_TCP)
		SKIP(return, "no SOCK_DESTROY for TCP: kernel without CONFIG_INET_DIAG_DESTROY");
	ASSERT_EQ(0, ret) TH_LOG("SOCK_DESTROY: %s", strerror(-ret));
	ASSERT_EQ(0, fo_wait_err(self->cfd[0]));
	EXPECT_EQ(ECONNRESET, fo_read_err(self->cfd[0], 0, 0, self->seed));
	EXPECT_EQ(ECONNABORTED, fo_read_err(self->afd[0], 0, 1, self->seed));
	EXPECT_EQ(TCP_CLOSE, fo_state(self->afd[0]));
	fo_hold_next(_metadata, self, variant, 1);
}

/*
 * The listener closes with two children in SYN_RECV: the one not
 * accepted goes with it and its client is reset; the accepted one lives
 * on, its client not reset, and ends by its client's RST with the
 * listener gone.
 */
TEST_F(fo_hold, listener_close)
{
	ASSERT_EQ(0, setsockopt(self->lfd, SOL_TCP, TCP_FASTOPEN, &(int){ 2 }, sizeof(int)));
	ASSERT_EQ(1, fo_hold_open(_metadata, self, variant, 0, 1));
	ASSERT_EQ(1, fo_hold_open(_metadata, self, variant, 1, 0));
	close(self->lfd);
	self->lfd = -1;
	ASSERT_EQ(0, fo_wait_err(self->cfd[1]));
	EXPECT_EQ(ECONNRESET, fo_read_err(self->cfd[1], 1, 0, self->seed));
	EXPECT_EQ(TCP_SYN_RECV, fo_state(self->afd[0]));
	EXPECT_EQ(TCP_ESTABLISHED, fo_state(self->cfd[0]));
	estp_close_abort(&self->cfd[0]);
	ASSERT_EQ(0, fo_wait_err(self->afd[0]));
	EXPECT_EQ(ECONNRESET, fo_read_err(self->afd[0], 0, 1, self->seed));
	EXPECT_EQ(0, estp_counter(variant->proto, "FastOpenListenOverflow"));
}

ESTP_HARNESS_MAIN("cookie_then_data", "key_rotation", "rst", "synack_retries", "abort",
		  "listener_close", "blackhole_pause")
