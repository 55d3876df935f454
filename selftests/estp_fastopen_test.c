// SPDX-License-Identifier: GPL-2.0
/*
 * Fast Open (RFC 7413) between real sockets: a client without a cookie
 * asks for one and sends its data after the handshake; with the cookie,
 * its SYN carries the data, which the server reads once and in order;
 * ESTP_FASTOPEN_CONNECT defers the SYN to the first write; the listener's
 * keys rotate with a backup key, and a cookie no key made falls back to
 * the handshake with the data intact; the options' values and errors.
 * TCP is the specification: every TEST_F runs for TCP and ESTP, on IPv4,
 * IPv6 and v4-mapped IPv6, each in a netns of its own (its cookie cache,
 * counters and sysctls fresh), and asserts what TCP does, counter for
 * counter.  Children caught in their handshake, and what ends them, are
 * estp_fastopen_peer_test's, with a scripted raw peer.
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
	"FastOpenPassiveAltKey",
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

/* The connection's tcpi_options. */
static int fo_tcpi_options(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len))
		return -1;
	return ti.tcpi_options;
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

ESTP_HARNESS_MAIN("cookie_then_data", "key_rotation")
