// SPDX-License-Identifier: GPL-2.0
/*
 * Segments on the wire, sent and caught with raw sockets on 127.0.0.1: the
 * RSTs a closed port answers with, the SYN|ACK of a listener, what is never
 * answered (RSTs, bad checksums and headers) and ESTP's receive counters.
 * Where TCP specifies, a TEST_F runs for TCP and ESTP as fixture variants.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "estp_lib.h"
#include "estp_pkt.h"
#include "estp_auth_cases.h"

/*
 * Fixed ports below ip_local_port_range, apart from the other tests': the
 * raw "peer" sends from SRC_BASE + n to DST_BASE + n (n < 200), where
 * nothing listens unless a test says so.  No socket holds SRC_BASE + n
 * either, so what the kernel sends there (a RST, or a SYN|ACK) ends with at
 * most its RST.
 */
#define SRC_BASE	20200
#define DST_BASE	20400

/* How long a segment that gets no answer is watched for one. */
#define QUIET_MS	300
/* How long an answer may take: a TCG guest can be slow. */
#define ANSWER_MS	2000

#define ISN		0x12345678u
#define ACKNUM		0x9abcdef0u

FIXTURE(pkt)
{
	int raw;
};

FIXTURE_VARIANTS_TCP_ESTP(pkt);

FIXTURE_SETUP(pkt)
{
	self->raw = pkt_open(variant->proto, "127.0.0.1");
	ASSERT_LE(0, self->raw);
}

FIXTURE_TEARDOWN(pkt)
{
	close(self->raw);
}

static struct pkt_seg seg(int n, uint8_t flags)
{
	struct pkt_seg s = {
		.sport = SRC_BASE + n,
		.dport = DST_BASE + n,
		.seq = ISN,
		.ack = flags & PKT_ACK ? ACKNUM : 0,
		.flags = flags,
		.win = 8192,
	};

	return s;
}

/* Sends @s and asserts that nothing answers it within QUIET_MS. */
static void expect_no_answer(struct __test_metadata *_metadata, int raw,
			     const struct pkt_seg *s)
{
	struct pkt_seg r;

	ASSERT_EQ(0, pkt_send(raw, s, "127.0.0.1"));
	EXPECT_EQ(0, pkt_recv(raw, s->dport, s->sport, QUIET_MS, &r))
		TH_LOG("flags %#x doff %d len %d csum %s: answered: flags %#x seq %#x ack %#x",
		       s->flags, s->doff, s->len, s->bad_csum ? "bad" : "good",
		       r.flags, r.seq, r.ack);
}

/*
 * Sends @s to a closed port and asserts TCP's one answer (RFC 9293 3.10.7.1):
 * to a segment with ACK, a bare RST with seq = its ack; to one without, a
 * RST|ACK with seq 0 that acknowledges its SYN, FIN and data.  Window 0, no
 * options, a checksum that verifies; then nothing more.
 */
static void expect_rst(struct __test_metadata *_metadata, int raw,
		       const struct pkt_seg *s)
{
	struct pkt_seg r;

	ASSERT_EQ(0, pkt_send(raw, s, "127.0.0.1"));
	ASSERT_EQ(1, pkt_recv(raw, s->dport, s->sport, ANSWER_MS, &r))
		TH_LOG("flags %#x: no answer", s->flags);
	if (s->flags & PKT_ACK) {
		EXPECT_EQ(PKT_RST, r.flags);
		EXPECT_EQ(s->ack, r.seq);
		EXPECT_EQ(0u, r.ack);
	} else {
		EXPECT_EQ(PKT_RST | PKT_ACK, r.flags);
		EXPECT_EQ(0u, r.seq);
		EXPECT_EQ(s->seq + !!(s->flags & PKT_SYN) + !!(s->flags & PKT_FIN), r.ack);
	}
	EXPECT_EQ(0, r.win);
	EXPECT_EQ(0, r.urg);
	EXPECT_EQ(PKT_HDR_LEN, r.hdr_len);
	EXPECT_EQ(PKT_HDR_LEN, r.seg_len);
	EXPECT_TRUE(r.csum_ok);
	/* Exactly one. */
	EXPECT_EQ(0, pkt_recv(raw, s->dport, s->sport, QUIET_MS, &r));
}

TEST_F(pkt, closed_port_syn)
{
	struct pkt_seg s = seg(1, PKT_SYN);

	s.mss = 1460;
	expect_rst(_metadata, self->raw, &s);
}

TEST_F(pkt, closed_port_ack)
{
	struct pkt_seg s = seg(2, PKT_ACK);

	expect_rst(_metadata, self->raw, &s);
	/* The same for any segment that carries ACK. */
	s = seg(3, PKT_ACK | PKT_PSH);
	expect_rst(_metadata, self->raw, &s);
	s = seg(4, PKT_ACK | PKT_FIN);
	expect_rst(_metadata, self->raw, &s);
}

/* A RST is never answered, with or without ACK. */
TEST_F(pkt, closed_port_rst)
{
	struct pkt_seg s = seg(5, PKT_RST);

	expect_no_answer(_metadata, self->raw, &s);
	s = seg(6, PKT_RST | PKT_ACK);
	expect_no_answer(_metadata, self->raw, &s);
	/* The silence is the RST's: a SYN between the same ports is answered. */
	s = seg(6, PKT_SYN);
	expect_rst(_metadata, self->raw, &s);
}

/*
 * Impossible flag mixes to a closed port.  TCP looks only at RST before
 * answering from no socket (tcp_v4_send_reset()): every mix without RST gets
 * the usual RST (RFC 9293 3.10.7.1), every mix with it nothing.  Seen on 6.1
 * and 7.3: SYN|FIN -> RST|ACK ack ISN+2, FIN alone -> RST|ACK ack ISN+1, no
 * flags or PSH alone -> RST|ACK ack ISN, SYN|FIN|ACK -> RST seq ACKNUM;
 * SYN|RST, SYN|RST|ACK, RST|FIN -> nothing.
 */
static const uint8_t rst_mixes[] = {
	PKT_SYN | PKT_RST,
	PKT_SYN | PKT_RST | PKT_ACK,
	PKT_RST | PKT_FIN,
};

static const uint8_t bad_flags[] = {
	PKT_SYN | PKT_FIN,
	PKT_SYN | PKT_FIN | PKT_ACK,
	PKT_FIN,
	PKT_PSH,
	0,
};

/* With RST in the mix: never answered, by either. */
TEST_F(pkt, closed_port_rst_mixes)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rst_mixes); i++) {
		struct pkt_seg s = seg(10 + i, rst_mixes[i]);

		expect_no_answer(_metadata, self->raw, &s);
	}
}

/* Without RST: a RST, as RFC 9293 3.10.7.1 and TCP answer any segment there. */
TEST_F(pkt, closed_port_bad_flags)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_flags); i++) {
		struct pkt_seg s = seg(13 + i, bad_flags[i]);

		expect_rst(_metadata, self->raw, &s);
	}
}

/* Segments dropped before any lookup: never answered. */
TEST_F(pkt, bad_csum)
{
	struct pkt_seg s = seg(20, PKT_SYN);

	s.bad_csum = 1;
	expect_no_answer(_metadata, self->raw, &s);
	s = seg(21, PKT_ACK);
	s.bad_csum = 1;
	expect_no_answer(_metadata, self->raw, &s);
	/* The same segment with a good checksum is answered: the port is closed. */
	s.bad_csum = 0;
	expect_rst(_metadata, self->raw, &s);
}

TEST_F(pkt, bad_header)
{
	struct pkt_seg s = seg(22, PKT_SYN);

	/* Shorter than a header. */
	s.len = 12;
	expect_no_answer(_metadata, self->raw, &s);
	/* A data offset below the 20-byte header. */
	s = seg(23, PKT_SYN);
	s.doff = 4;
	expect_no_answer(_metadata, self->raw, &s);
	s.doff = PKT_DOFF_ZERO;
	expect_no_answer(_metadata, self->raw, &s);
	/* A data offset past the end of the segment. */
	s = seg(24, PKT_SYN);
	s.doff = 6;
	expect_no_answer(_metadata, self->raw, &s);
	s.doff = 15;
	expect_no_answer(_metadata, self->raw, &s);
	/* Options the offset covers exactly are fine: the port is closed. */
	s = seg(25, PKT_SYN);
	s.mss = 1000;
	expect_rst(_metadata, self->raw, &s);
}

/* A listener answers a SYN with a SYN|ACK that acknowledges it. */
TEST_F(pkt, listener_syn_ack)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(DST_BASE + 30),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct pkt_seg s = seg(30, PKT_SYN), r;
	int lfd;

	lfd = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(lfd, 8));
	s.mss = 1000;
	ASSERT_EQ(0, pkt_send(self->raw, &s, "127.0.0.1"));
	ASSERT_EQ(1, pkt_recv(self->raw, s.dport, s.sport, ANSWER_MS, &r));
	EXPECT_EQ(PKT_SYN | PKT_ACK, r.flags);
	EXPECT_EQ(ISN + 1, r.ack);
	EXPECT_NE(0, r.win);
	EXPECT_NE(0, r.mss);
	EXPECT_LE(PKT_HDR_LEN + 4, r.hdr_len);
	/* Only a header with options: a SYN|ACK carries no data here. */
	EXPECT_EQ(r.hdr_len, r.seg_len);
	/*
	 * Our port has no socket: the stack resets the SYN|ACK as any segment
	 * with ACK to a closed port, which also drops the listener's request.
	 */
	ASSERT_EQ(1, pkt_recv(self->raw, s.sport, s.dport, ANSWER_MS, &r));
	EXPECT_EQ(PKT_RST, r.flags);
	EXPECT_EQ(ISN + 1, r.seq);
	close(lfd);
}

/*
 * What a listener does with segments that cannot start a connection (seen on
 * 6.1 and 7.3, tcp_rcv_state_process() in LISTEN): any with ACK (no request
 * matches) -> RST seq = its ack; without ACK, RST, SYN|FIN, and anything
 * without SYN -> dropped silently.  @reset is what gets the RST.
 */
static void listener_flags(struct __test_metadata *_metadata, FIXTURE_DATA(pkt) *self,
			   int proto, int n, const uint8_t *quiet, size_t nquiet,
			   const uint8_t *reset, size_t nreset)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(DST_BASE + n),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct pkt_seg s;
	size_t i;
	int lfd;

	lfd = socket(AF_INET, SOCK_STREAM, proto);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(lfd, 8));
	for (i = 0; i < nquiet; i++) {
		s = seg(n, quiet[i]);
		s.sport += 60 + i;
		expect_no_answer(_metadata, self->raw, &s);
	}
	for (i = 0; i < nreset; i++) {
		s = seg(n, reset[i]);
		s.sport += 80 + i;
		expect_rst(_metadata, self->raw, &s);
	}
	/* None of them made a connection. */
	EXPECT_EQ(0, fcntl(lfd, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(-1, accept(lfd, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	close(lfd);
}

TEST_F(pkt, listener_bad_flags)
{
	static const uint8_t quiet[] = {
		PKT_SYN | PKT_FIN, PKT_SYN | PKT_RST, PKT_RST, PKT_FIN, PKT_PSH, 0,
	};
	static const uint8_t reset[] = {
		PKT_ACK, PKT_SYN | PKT_ACK, PKT_FIN | PKT_ACK,
	};

	listener_flags(_metadata, self, variant->proto, 31, quiet, ARRAY_SIZE(quiet),
		       reset, ARRAY_SIZE(reset));
}

/* SYN|FIN|ACK to a listener: a RST, seq = its ack, as any ACK there gets. */
TEST_F(pkt, listener_syn_fin_ack)
{
	static const uint8_t reset[] = { PKT_SYN | PKT_FIN | PKT_ACK };

	listener_flags(_metadata, self, variant->proto, 32, NULL, 0, reset, ARRAY_SIZE(reset));
}

/*
 * A segment with one defect, and the one counter it moves; or, for a flag
 * mix TCP answers at a closed port (@counter NULL), the RST it gets.
 */
struct bad_seg {
	const char *what;
	uint8_t flags;
	int len, doff, bad_csum;
	const char *counter;
};

static const struct bad_seg bad_segs[] = {
	{ "truncated", PKT_SYN, .len = 12, .counter = "InHdrErrors" },
	{ "doff 4", PKT_SYN, .doff = 4, .counter = "InHdrErrors" },
	{ "doff 0", PKT_SYN, .doff = PKT_DOFF_ZERO, .counter = "InHdrErrors" },
	{ "doff 6 > len", PKT_SYN, .doff = 6, .counter = "InHdrErrors" },
	{ "doff 15 > len", PKT_SYN, .doff = 15, .counter = "InHdrErrors" },
	{ "bad csum SYN", PKT_SYN, .bad_csum = 1, .counter = "InCsumErrors" },
	{ "bad csum ACK", PKT_ACK, .bad_csum = 1, .counter = "InCsumErrors" },
	{ "SYN|FIN", PKT_SYN | PKT_FIN, .counter = NULL },
	{ "SYN|FIN|ACK", PKT_SYN | PKT_FIN | PKT_ACK, .counter = NULL },
	{ "SYN|RST", PKT_SYN | PKT_RST, .counter = "InBadFlags" },
	{ "SYN|RST|ACK", PKT_SYN | PKT_RST | PKT_ACK, .counter = "InBadFlags" },
	{ "RST|FIN", PKT_RST | PKT_FIN, .counter = "InBadFlags" },
	{ "FIN", PKT_FIN, .counter = NULL },
	{ "PSH", PKT_PSH, .counter = NULL },
	{ "no flags", 0, .counter = NULL },
};

static const char *const counters[] = {
	"InSegs", "InHdrErrors", "InCsumErrors", "InBadFlags", "InNoSocket", "OutRsts",
};

#define NCOUNTERS	ARRAY_SIZE(counters)

static void read_counters(struct __test_metadata *_metadata, long *v)
{
	size_t i;

	for (i = 0; i < NCOUNTERS; i++) {
		v[i] = estp_stat(counters[i]);
		ASSERT_LE(0, v[i]) TH_LOG("no %s in /proc/net/estp_stat", counters[i]);
	}
}

/*
 * Sends @s, waits for its answer (@answered) or for none, then for anything
 * more, which also lets the receive path count what came back, and stores
 * how much each of counters[] moved in @d.
 */
static void send_count(struct __test_metadata *_metadata, int raw,
		       const struct pkt_seg *s, int answered, const char *what,
		       long *d)
{
	long before[NCOUNTERS], after[NCOUNTERS];
	struct pkt_seg r;
	size_t j;

	read_counters(_metadata, before);
	ASSERT_EQ(0, pkt_send(raw, s, "127.0.0.1"));
	if (answered) {
		EXPECT_EQ(1, pkt_recv(raw, s->dport, s->sport, ANSWER_MS, &r))
			TH_LOG("%s: not answered", what);
		EXPECT_EQ(PKT_RST, r.flags & PKT_RST) TH_LOG("%s: flags %#x", what, r.flags);
	}
	EXPECT_EQ(0, pkt_recv(raw, s->dport, s->sport, QUIET_MS, &r))
		TH_LOG("%s: answered with flags %#x", what, r.flags);
	read_counters(_metadata, after);
	for (j = 0; j < NCOUNTERS; j++)
		d[j] = after[j] - before[j];
}

/*
 * ESTP only: TCP has no InBadFlags or InNoSocket (OutRsts is compared with
 * TCP's in estp_mib_test).
 * In a netns of the test's own, where no other segment moves them.
 */
TEST(estp_counters)
{
	long d[NCOUNTERS], rst[NCOUNTERS], want;
	struct pkt_seg s;
	size_t i, j;
	int raw;

	ASSERT_EQ(0, estp_netns_private());
	raw = pkt_open(IPPROTO_ESTP, "127.0.0.1");
	ASSERT_LE(0, raw);

	/*
	 * Every answer comes back to this host, as a RST to a closed port
	 * (SRC_BASE + n): first what that alone counts.  InSegs, and
	 * InNoSocket (no socket was found for it, estp_v4_rcv()); nothing
	 * else, and it is not answered.
	 */
	s = seg(39, PKT_RST);
	send_count(_metadata, raw, &s, 0, "RST", rst);
	for (j = 0; j < NCOUNTERS; j++) {
		want = !strcmp(counters[j], "InSegs") || !strcmp(counters[j], "InNoSocket");
		EXPECT_EQ(want, rst[j]) TH_LOG("RST: %s", counters[j]);
	}

	for (i = 0; i < ARRAY_SIZE(bad_segs); i++) {
		const struct bad_seg *b = &bad_segs[i];

		s = seg(40 + i, b->flags);
		s.len = b->len;
		s.doff = b->doff;
		s.bad_csum = b->bad_csum;
		send_count(_metadata, raw, &s, !b->counter, b->what, d);
		for (j = 0; j < NCOUNTERS; j++) {
			if (b->counter)
				want = !strcmp(counters[j], "InSegs") ||
				       !strcmp(counters[j], b->counter);
			else	/* as the valid SYN below */
				want = rst[j] + (!strcmp(counters[j], "InSegs") ||
						 !strcmp(counters[j], "InNoSocket") ||
						 !strcmp(counters[j], "OutRsts"));
			EXPECT_EQ(want, d[j]) TH_LOG("%s: %s", b->what, counters[j]);
		}
	}

	/*
	 * A valid SYN to a closed port: InNoSocket and OutRsts once for it,
	 * plus what its RST counts when it comes back.
	 */
	s = seg(60, PKT_SYN);
	send_count(_metadata, raw, &s, 1, "valid SYN", d);
	for (j = 0; j < NCOUNTERS; j++) {
		want = rst[j] + (!strcmp(counters[j], "InSegs") ||
				 !strcmp(counters[j], "InNoSocket") ||
				 !strcmp(counters[j], "OutRsts"));
		EXPECT_EQ(want, d[j]) TH_LOG("valid SYN: %s", counters[j]);
	}
	close(raw);
}

/*
 * Sends @c's SYN (a signature option, estp_auth_cases.h) to @proto's
 * listener on @port, which has no key: 1 if a SYN|ACK came back.
 */
static int auth_syn(int proto, int port, int n, const struct auth_case *c, long *d)
{
	struct pkt_seg s = seg(n, PKT_SYN), r;
	long before[AUTH_NCOUNTERS];
	int raw, ret;

	raw = pkt_open(proto, "127.0.0.1");
	if (raw < 0)
		return -1;
	s.dport = port;
	s.opts = c->opts;
	s.optlen = c->optlen;
	auth_counts(proto, before, NULL);
	ret = pkt_send(raw, &s, "127.0.0.1") ? -1 :
	      pkt_recv(raw, s.dport, s.sport, QUIET_MS, &r);
	if (ret == 1 && r.flags != (PKT_SYN | PKT_ACK))
		ret = 2;
	auth_counts(proto, d, before);
	close(raw);
	return ret;
}

TEST(auth_options_as_tcp)
{
	long dt[ARRAY_SIZE(auth_counters)], de[ARRAY_SIZE(auth_counters)];
	int lt, le, at, ae, dropped = 0, md5;
	struct tcp_md5sig key = {};
	size_t i, j;

	lt = estp_listen_fam(IPPROTO_TCP, ESTP_FAM4, "127.0.0.1", DST_BASE + 70, 64);
	le = estp_listen_fam(IPPROTO_ESTP, ESTP_FAM4, "127.0.0.1", DST_BASE + 70, 64);
	ASSERT_LE(0, lt);
	ASSERT_LE(0, le);
	for (i = 0; i < ARRAY_SIZE(auth_cases); i++) {
		at = auth_syn(IPPROTO_TCP, DST_BASE + 70, 70 + i, &auth_cases[i], dt);
		ae = auth_syn(IPPROTO_ESTP, DST_BASE + 70, 70 + i, &auth_cases[i], de);
		ASSERT_LE(0, at);
		ASSERT_LE(0, ae);
		TH_LOG("%s: TCP %s, ESTP %s", auth_cases[i].what,
		       at ? "answers" : "drops", ae ? "answers" : "drops");
		EXPECT_EQ(at, ae) TH_LOG("%s", auth_cases[i].what);
		for (j = 0; j < ARRAY_SIZE(auth_counters); j++) {
			EXPECT_EQ(dt[j], de[j]) TH_LOG("%s: %s", auth_cases[i].what,
						       auth_counters[j]);
		}
		dropped += !at;
	}
	/*
	 * Where the kernel has TCP-MD5 (Debian's; not the debug kernel), a
	 * signature is dropped, else nothing is: TCP_MD5SIG without one is
	 * an option TCP does not know.
	 */
	md5 = setsockopt(lt, IPPROTO_TCP, TCP_MD5SIG, &key, sizeof(key)) == 0 ||
	      errno != ENOPROTOOPT;
	TH_LOG("TCP-MD5 %s: %d of %zu dropped", md5 ? "built in" : "not built",
	       dropped, ARRAY_SIZE(auth_cases));
	if (md5) {
		EXPECT_LE(1, dropped);
	} else {
		EXPECT_EQ(0, dropped);
	}
	/* A well-formed option of no known kind is answered everywhere. */
	EXPECT_EQ(1, at);
	close(lt);
	close(le);
}

TEST_HARNESS_MAIN
