// SPDX-License-Identifier: GPL-2.0
/*
 * ECN (RFC 3168) and SYN cookies that carry options, against a raw peer
 * (estp_peer.h) that builds every segment itself: options, payload and the
 * IP header's ECN field.  TCP is the specification: every test runs for
 * TCP and ESTP as fixture variants and asserts what TCP does on the wire:
 * ECE|CWR in the SYN as net.{ipv4.tcp_,estp.}ecn says, ECE in the SYN-ACK,
 * ECT(0) on new data only, ECE after a CE mark until CWR, a window that
 * an ECE reduces once, and the window scale, SACK, timestamps and ECN that
 * a SYN cookie keeps in its timestamp.  Each test runs in a netns of its
 * own (peer_open()), with the sysctls at their defaults there.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "estp_lib.h"
#include "estp_pkt.h"
#include "estp_peer.h"

#define LPORT		22000
#define ISN		0xfffff000u	/* wraps during the tests */
#define PEER_TSVAL	1000u
#define PEER_WSCALE	7
#define QUIET_MS	300

#define ECN_NOT_ECT	0
#define ECN_ECT1	1
#define ECN_ECT0	2
#define ECN_CE		3

/* A segment the raw peer received, its options and IP ECN field parsed. */
struct rseg {
	uint8_t flags;
	uint8_t ecn;		/* the IP header's ECN field */
	uint32_t seq, ack;
	uint16_t win;
	int len;		/* payload bytes */
	uint16_t mss;		/* 0: none */
	int ws;			/* -1: none */
	int sack_perm;
	int nsacks;
	int ts;
	uint32_t tsval, tsecr;
};

/* What the raw peer's SYN offers. */
enum { OPT_MSS = 1, OPT_TS = 2, OPT_SACK = 4, OPT_WS = 8, OPT_ALL = 15 };

FIXTURE(ecn)
{
	struct estp_peer peer;
	int lfd;
	int afd;
	int cfd;
	/* The raw peer's connection: ports, next seq, the other side's next. */
	uint16_t port, lport;
	uint32_t seq, ack;
	uint32_t ts_recent;	/* the other side's TSval to echo; 0: none */
	int opts;		/* OPT_* agreed */
	struct rseg synack;
};

FIXTURE_VARIANTS_TCP_ESTP(ecn);

FIXTURE_SETUP(ecn)
{
	const char *err;

	self->lfd = -1;
	self->afd = -1;
	self->cfd = -1;
	err = peer_open(&self->peer, variant->proto);
	ASSERT_EQ(NULL, err) TH_LOG("raw peer: %s failed", err);
	/* One segment a packet: TCP's GSO would send a whole write as one. */
	ASSERT_EQ(0, estp_run("ip link set dev lo gso_max_segs 1"));
}

FIXTURE_TEARDOWN(ecn)
{
	estp_close_abort(&self->cfd);
	estp_close_abort(&self->afd);
	if (self->lfd >= 0)
		close(self->lfd);
	peer_close(&self->peer);
}

/* @proto's sysctl @name (TCP's tcp_@name), set in the test's netns. */
static int knob(int proto, const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), proto == IPPROTO_TCP ? "/proc/sys/net/ipv4/tcp_%s" :
		 "/proc/sys/net/estp/%s", name);
	return peer_sysctl(path, NULL, 0, val);
}

/*
 * Sends a segment from the raw peer: @optlen bytes of options (a multiple
 * of 4), @len bytes of payload, the IP ECN field @ecn: 0 or -1.
 */
static int raw_send(FIXTURE_DATA(ecn) *self, uint16_t sport, uint16_t dport, uint8_t flags,
		    uint32_t seq, uint32_t ack, const uint8_t *opt, int optlen, int len,
		    int ecn)
{
	struct sockaddr_in dst = estp_sin4(PEER_ADDR, 0);
	int hlen = PKT_HDR_LEN + optlen, tos = PEER_TOS | ecn, proto = self->peer.proto;
	uint8_t buf[PKT_HDR_LEN + 40 + 1000];

	if (optlen > 40 || len > 1000)
		return -1;
	memset(buf, 0, sizeof(buf));
	pkt_put16(buf, sport);
	pkt_put16(buf + 2, dport);
	pkt_put32(buf + 4, seq);
	pkt_put32(buf + 8, ack);
	buf[12] = (hlen / 4) << 4;
	buf[13] = flags;
	pkt_put16(buf + 14, PEER_WIN);
	if (optlen)
		memcpy(buf + PKT_HDR_LEN, opt, optlen);
	memset(buf + hlen, 'e', len);
	pkt_put16(buf + 16, pkt_csum(dst.sin_addr.s_addr, dst.sin_addr.s_addr, proto, buf,
				     hlen + len));
	if (setsockopt(self->peer.raw, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)))
		return -1;
	if (sendto(self->peer.raw, buf, hlen + len, 0, (struct sockaddr *)&dst,
		   sizeof(dst)) != hlen + len)
		return -1;
	return 0;
}

/* Waits for a segment from @sport to @dport: 1 and @r filled, 0, -1. */
static int raw_recv(FIXTURE_DATA(ecn) *self, uint16_t sport, uint16_t dport, int ms,
		    struct rseg *r)
{
	uint8_t buf[70000];
	struct pkt_seg s;
	const uint8_t *th;
	ssize_t n;
	int i;

	n = pkt_recv_buf(self->peer.raw, self->peer.proto, sport, dport, ms, buf, sizeof(buf),
			 &s);
	if (n <= 0)
		return (int)n;
	memset(r, 0, sizeof(*r));
	r->flags = s.flags;
	r->ecn = buf[1] & 3;
	r->seq = s.seq;
	r->ack = s.ack;
	r->win = s.win;
	r->len = s.seg_len - s.hdr_len;
	r->ws = -1;
	th = buf + (buf[0] & 0xf) * 4;
	for (i = PKT_HDR_LEN; i < s.hdr_len;) {
		if (th[i] == 0)
			break;
		if (th[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= s.hdr_len || th[i + 1] < 2)
			break;
		switch (th[i]) {
		case 2:
			r->mss = pkt_get16(th + i + 2);
			break;
		case 3:
			r->ws = th[i + 2];
			break;
		case 4:
			r->sack_perm = 1;
			break;
		case 5:
			r->nsacks = (th[i + 1] - 2) / 8;
			break;
		case 8:
			r->ts = 1;
			r->tsval = pkt_get32(th + i + 2);
			r->tsecr = pkt_get32(th + i + 6);
			break;
		}
		i += th[i + 1];
	}
	return 1;
}

/* The options of a raw SYN (@opts, OPT_*) or of a later segment: length. */
static int raw_opts(uint8_t *o, int opts, int syn, uint32_t tsval, uint32_t tsecr)
{
	int n = 0;

	if (syn && opts & OPT_MSS) {
		memcpy(o + n, "\x02\x04\x05\xb4", 4);	/* MSS 1460 */
		n += 4;
	}
	if (syn && opts & OPT_SACK) {
		memcpy(o + n, "\x01\x01\x04\x02", 4);
		n += 4;
	}
	if (opts & OPT_TS) {
		memcpy(o + n, "\x01\x01\x08\x0a", 4);
		pkt_put32(o + n + 4, tsval);
		pkt_put32(o + n + 8, tsecr);
		n += 12;
	}
	if (syn && opts & OPT_WS) {
		memcpy(o + n, "\x01\x03\x03", 3);
		o[n + 3] = PEER_WSCALE;
		n += 4;
	}
	return n;
}

/* A segment of the raw peer's connection: its seq, the other side's ack. */
static int conn_send(FIXTURE_DATA(ecn) *self, uint8_t flags, uint32_t seq, int len, int ecn)
{
	uint8_t o[40];
	int n = raw_opts(o, self->opts, 0, PEER_TSVAL + 10, self->ts_recent);

	return raw_send(self, self->port, self->lport, flags, seq, self->ack, o, n, len, ecn);
}

static int conn_recv(FIXTURE_DATA(ecn) *self, int ms, struct rseg *r)
{
	int ret = raw_recv(self, self->lport, self->port, ms, r);

	if (ret == 1 && r->ts)
		self->ts_recent = r->tsval;
	return ret;
}

static int listen_on(FIXTURE_DATA(ecn) *self, int proto, int port)
{
	struct sockaddr_in sin = estp_sin4(PEER_ADDR, port);

	self->lfd = socket(AF_INET, SOCK_STREAM, proto);
	if (self->lfd < 0 || bind(self->lfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(self->lfd, 8))
		return -1;
	return 0;
}

/*
 * The raw peer's SYN from @port, with @opts and @flags (SYN and any of
 * ECE, CWR), IP ECN field @ecn, to the listener on @lport: 1 and
 * self->synack filled when a SYN-ACK came.
 */
static int raw_syn(FIXTURE_DATA(ecn) *self, uint16_t port, uint16_t lport, int opts,
		   uint8_t flags, int ecn)
{
	uint8_t o[40];
	int n = raw_opts(o, opts, 1, PEER_TSVAL, 0);

	self->port = port;
	self->lport = lport;
	self->seq = ISN + 1;
	self->ts_recent = 0;
	if (raw_send(self, port, lport, PKT_SYN | flags, ISN, 0, o, n, 0, ecn))
		return -1;
	if (raw_recv(self, lport, port, PEER_ANSWER_MS, &self->synack) != 1 ||
	    (self->synack.flags & (PKT_SYN | PKT_ACK)) != (PKT_SYN | PKT_ACK))
		return 0;
	self->ack = self->synack.seq + 1;
	self->opts = self->synack.ts ? opts & OPT_TS : 0;
	self->ts_recent = self->synack.ts ? self->synack.tsval : 0;
	return 1;
}

/* raw_syn(), the final ACK and accept(): 0, or -1. */
static int raw_open(FIXTURE_DATA(ecn) *self, uint16_t port, uint16_t lport, int opts,
		    uint8_t flags)
{
	struct pollfd pfd = { .fd = self->lfd, .events = POLLIN };

	if (raw_syn(self, port, lport, opts, flags, ECN_NOT_ECT) != 1 ||
	    conn_send(self, PKT_ACK, self->seq, 0, ECN_NOT_ECT) || poll(&pfd, 1, 2000) != 1)
		return -1;
	self->afd = accept(self->lfd, NULL, NULL);
	return self->afd < 0 ? -1 : 0;
}

/*
 * The listener's side: ECE in the SYN-ACK answers ECE|CWR in a Not-ECT SYN
 * while net.*ecn is 1 or 2 (2 is the default), and nothing else; the
 * SYN-ACK itself is Not-ECT.
 */
TEST_F(ecn, passive_negotiation)
{
	int proto = variant->proto, lport = LPORT, port = PEER_PORT_MIN;

	ASSERT_EQ(0, listen_on(self, proto, lport));
	ASSERT_EQ(1, raw_syn(self, port, lport, OPT_ALL, PKT_ECE | PKT_CWR, ECN_NOT_ECT));
	EXPECT_EQ(PKT_SYN | PKT_ACK | PKT_ECE, self->synack.flags);
	EXPECT_EQ(ECN_NOT_ECT, self->synack.ecn);

	ASSERT_EQ(1, raw_syn(self, port + 1, lport, OPT_ALL, 0, ECN_NOT_ECT));
	EXPECT_EQ(PKT_SYN | PKT_ACK, self->synack.flags);
	/* ECE alone asks nothing. */
	ASSERT_EQ(1, raw_syn(self, port + 2, lport, OPT_ALL, PKT_ECE, ECN_NOT_ECT));
	EXPECT_EQ(PKT_SYN | PKT_ACK, self->synack.flags);
	/* RFC 3168 6.1.1: an ECT SYN is not taken up. */
	ASSERT_EQ(1, raw_syn(self, port + 3, lport, OPT_ALL, PKT_ECE | PKT_CWR, ECN_ECT0));
	EXPECT_EQ(PKT_SYN | PKT_ACK, self->synack.flags);

	ASSERT_EQ(0, knob(proto, "ecn", "1"));
	ASSERT_EQ(1, raw_syn(self, port + 4, lport, OPT_ALL, PKT_ECE | PKT_CWR, ECN_NOT_ECT));
	EXPECT_EQ(PKT_SYN | PKT_ACK | PKT_ECE, self->synack.flags);
	ASSERT_EQ(0, knob(proto, "ecn", "0"));
	ASSERT_EQ(1, raw_syn(self, port + 5, lport, OPT_ALL, PKT_ECE | PKT_CWR, ECN_NOT_ECT));
	EXPECT_EQ(PKT_SYN | PKT_ACK, self->synack.flags);
	/* The sysctl takes 0 to 2 only. */
	EXPECT_NE(0, knob(proto, "ecn", "6"));
}

/*
 * The SYN-ACK's retransmissions by the request's timer carry ECE, on 6.18
 * and later (AccECN's tcp_ecn_make_synack()) only the first.
 */
TEST_F(ecn, synack_retrans)
{
	int proto = variant->proto, lport = LPORT + 6, port = PEER_PORT_MIN + 60, i;
	int newer = estp_kernel_at_least(6, 18);
	struct rseg r;

	ASSERT_LE(0, newer);

	ASSERT_EQ(0, listen_on(self, proto, lport));
	ASSERT_EQ(1, raw_syn(self, port, lport, OPT_ALL, PKT_ECE | PKT_CWR, ECN_NOT_ECT));
	EXPECT_EQ(PKT_SYN | PKT_ACK | PKT_ECE, self->synack.flags);
	for (i = 1; i <= 2; i++) {
		ASSERT_EQ(1, raw_recv(self, lport, port, 1000 * (1 << i) + 1000, &r));
		EXPECT_EQ(PKT_SYN | PKT_ACK | (i > 1 && newer ? 0 : PKT_ECE), r.flags);
	}
}

/*
 * A connect()ing socket asks with ECE|CWR only when net.*ecn is 1; with
 * ecn_fallback (the default) its resent SYN asks no more.  The SYN and the
 * final ACK are Not-ECT, the first data ECT(0).
 */
TEST_F(ecn, active_request)
{
	int proto = variant->proto, port = PEER_PORT_MIN + 10, cport, val = 1;
	struct sockaddr_in sin = estp_sin4(PEER_ADDR, port);
	struct rseg r;
	uint8_t o[8] = { 2, 4, 1460 >> 8, 1460 & 0xff };

	/* Default 2: no request. */
	self->cfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, proto);
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(-1, connect(self->cfd, (struct sockaddr *)&sin, sizeof(sin)));
	cport = estp_local_port(self->cfd);
	ASSERT_EQ(1, raw_recv(self, cport, port, PEER_ANSWER_MS, &r));
	EXPECT_EQ(PKT_SYN, r.flags);
	estp_close_abort(&self->cfd);

	ASSERT_EQ(0, knob(proto, "ecn", "1"));
	self->cfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, proto);
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_TCP, TCP_NODELAY, &val, sizeof(val)));
	ASSERT_EQ(-1, connect(self->cfd, (struct sockaddr *)&sin, sizeof(sin)));
	cport = estp_local_port(self->cfd);
	ASSERT_EQ(1, raw_recv(self, cport, port, PEER_ANSWER_MS, &r));
	EXPECT_EQ(PKT_SYN | PKT_ECE | PKT_CWR, r.flags);
	EXPECT_EQ(ECN_NOT_ECT, r.ecn);
	/*
	 * Unanswered: the SYN again after 1 s, without ECE|CWR.  Its timeout
	 * queued a CWR (tcp_enter_loss()), which the first data carries.
	 */
	ASSERT_EQ(1, raw_recv(self, cport, port, 3000, &r));
	EXPECT_EQ(PKT_SYN, r.flags);
	EXPECT_EQ(ECN_NOT_ECT, r.ecn);
	/* The SYN-ACK's ECE still turns ECN on (tcp_ecn_rcv_synack). */
	ASSERT_EQ(0, raw_send(self, port, cport, PKT_SYN | PKT_ACK | PKT_ECE, ISN, r.seq + 1,
			      o, 4, 0, ECN_NOT_ECT));
	ASSERT_EQ(1, raw_recv(self, cport, port, PEER_ANSWER_MS, &r));
	EXPECT_EQ(PKT_ACK, r.flags);
	EXPECT_EQ(ECN_NOT_ECT, r.ecn);
	ASSERT_EQ(10, write(self->cfd, "0123456789", 10));
	ASSERT_EQ(1, raw_recv(self, cport, port, PEER_ANSWER_MS, &r));
	EXPECT_EQ(10, r.len);
	EXPECT_EQ(PKT_ACK | PKT_PSH | PKT_CWR, r.flags);
	EXPECT_EQ(ECN_ECT0, r.ecn);
}

/*
 * On an ECN connection: new data is ECT(0), its retransmission and pure
 * ACKs Not-ECT; CE on received data makes every ACK carry ECE, quickly,
 * until a segment with CWR comes.  Without ECN nothing is marked.
 */
TEST_F(ecn, marks)
{
	int proto = variant->proto, lport = LPORT + 1, port = PEER_PORT_MIN + 20;
	struct rseg r, first;

	ASSERT_EQ(0, listen_on(self, proto, lport));
	ASSERT_EQ(0, raw_open(self, port, lport, OPT_ALL, PKT_ECE | PKT_CWR));

	/* CE: the ACK echoes it at once. */
	ASSERT_EQ(0, conn_send(self, PKT_ACK, self->seq, 10, ECN_CE));
	self->seq += 10;
	ASSERT_EQ(1, conn_recv(self, PEER_ANSWER_MS, &r));
	EXPECT_EQ(PKT_ACK | PKT_ECE, r.flags);
	EXPECT_EQ(self->seq, r.ack);
	EXPECT_EQ(ECN_NOT_ECT, r.ecn);
	/* ECT(0) data without CWR: ECE goes on. */
	ASSERT_EQ(0, conn_send(self, PKT_ACK | PKT_PSH, self->seq, 10, ECN_ECT0));
	self->seq += 10;
	ASSERT_EQ(1, conn_recv(self, PEER_ANSWER_MS, &r));
	EXPECT_EQ(PKT_ACK | PKT_ECE, r.flags);
	EXPECT_EQ(self->seq, r.ack);
	/* CWR: no more ECE. */
	ASSERT_EQ(0, conn_send(self, PKT_ACK | PKT_PSH | PKT_CWR, self->seq, 10, ECN_ECT0));
	self->seq += 10;
	ASSERT_EQ(1, conn_recv(self, PEER_ANSWER_MS, &r));
	EXPECT_EQ(PKT_ACK, r.flags);
	EXPECT_EQ(self->seq, r.ack);

	/* Our data: ECT(0) new, Not-ECT resent. */
	ASSERT_EQ(1, write(self->afd, "x", 1));
	ASSERT_EQ(1, conn_recv(self, PEER_ANSWER_MS, &first));
	EXPECT_EQ(1, first.len);
	EXPECT_EQ(ECN_ECT0, first.ecn);
	EXPECT_EQ(0, first.flags & (PKT_ECE | PKT_CWR));
	ASSERT_EQ(1, conn_recv(self, 3000, &r)) TH_LOG("no retransmission");
	EXPECT_EQ(first.seq, r.seq);
	EXPECT_EQ(1, r.len);
	EXPECT_EQ(ECN_NOT_ECT, r.ecn);
	/* A pure ACK is not marked either. */
	self->ack = first.seq + 1;
	ASSERT_EQ(0, conn_send(self, PKT_ACK, self->seq, 1, ECN_NOT_ECT));
	ASSERT_EQ(1, conn_recv(self, PEER_ANSWER_MS, &r));
	EXPECT_EQ(0, r.len);
	EXPECT_EQ(ECN_NOT_ECT, r.ecn);
	EXPECT_EQ(0, r.flags & PKT_ECE);

	/* Without ECN: CE draws no ECE, data is Not-ECT. */
	estp_close_abort(&self->afd);
	ASSERT_EQ(0, raw_open(self, port + 1, lport, OPT_ALL, 0));
	ASSERT_EQ(0, conn_send(self, PKT_ACK | PKT_PSH, self->seq, 10, ECN_CE));
	self->seq += 10;
	ASSERT_EQ(1, conn_recv(self, PEER_ANSWER_MS, &r));
	EXPECT_EQ(PKT_ACK, r.flags);
	ASSERT_EQ(1, write(self->afd, "y", 1));
	ASSERT_EQ(1, conn_recv(self, PEER_ANSWER_MS, &r));
	EXPECT_EQ(1, r.len);
	EXPECT_EQ(ECN_NOT_ECT, r.ecn);
}

/*
 * ECE reduces the window once per window of data: ssthresh to CUBIC's
 * 7 of the initial 10, a second ECE in the same window changes nothing,
 * the next new data carries CWR, and once it is acknowledged cwnd is
 * ssthresh.
 */
TEST_F(ecn, ece_reduces_cwnd)
{
	int proto = variant->proto, lport = LPORT + 2, port = PEER_PORT_MIN + 30, val = 1, i;
	static char buf[4000];
	long rto, cwnd, ssthresh;
	struct rseg r[3], n;
	uint32_t end;

	ASSERT_EQ(0, listen_on(self, proto, lport));
	/* No SACK: no loss probe resends while the test holds its ACKs. */
	ASSERT_EQ(0, raw_open(self, port, lport, OPT_MSS | OPT_TS | OPT_WS, PKT_ECE | PKT_CWR));
	ASSERT_EQ(0, setsockopt(self->afd, SOL_TCP, TCP_NODELAY, &val, sizeof(val)));
	ASSERT_EQ(0, estp_proc_cc(proto, lport, port, &rto, &cwnd, &ssthresh));
	EXPECT_EQ(10, cwnd);
	EXPECT_EQ(-1, ssthresh);

	ASSERT_EQ((ssize_t)sizeof(buf), write(self->afd, buf, sizeof(buf)));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(1, conn_recv(self, PEER_ANSWER_MS, &r[i]));
		EXPECT_EQ(ECN_ECT0, r[i].ecn);
		EXPECT_EQ(0, r[i].flags & PKT_CWR);
	}
	end = r[2].seq + r[2].len;
	ASSERT_EQ(sizeof(buf), end - r[0].seq);
	self->ack = r[0].seq + r[0].len;
	ASSERT_EQ(0, conn_send(self, PKT_ACK | PKT_ECE, self->seq, 0, ECN_NOT_ECT));
	ASSERT_EQ(0, estp_proc_cc(proto, lport, port, &rto, &cwnd, &ssthresh));
	EXPECT_EQ(7, ssthresh);
	EXPECT_GE(7, cwnd);
	self->ack = r[1].seq + r[1].len;
	ASSERT_EQ(0, conn_send(self, PKT_ACK | PKT_ECE, self->seq, 0, ECN_NOT_ECT));
	ASSERT_EQ(0, estp_proc_cc(proto, lport, port, &rto, &cwnd, &ssthresh));
	EXPECT_EQ(7, ssthresh);

	/* New data: CWR on it, once. */
	ASSERT_EQ(100, write(self->afd, buf, 100));
	ASSERT_EQ(1, conn_recv(self, PEER_ANSWER_MS, &n));
	EXPECT_EQ(end, n.seq);
	EXPECT_EQ(PKT_ACK | PKT_PSH | PKT_CWR, n.flags);
	EXPECT_EQ(ECN_ECT0, n.ecn);
	ASSERT_EQ(100, write(self->afd, buf, 100));
	ASSERT_EQ(1, conn_recv(self, PEER_ANSWER_MS, &n));
	EXPECT_EQ(PKT_ACK | PKT_PSH, n.flags);

	/* All acknowledged, past high_seq: CWR ends at ssthresh. */
	self->ack = n.seq + n.len;
	ASSERT_EQ(0, conn_send(self, PKT_ACK, self->seq, 0, ECN_NOT_ECT));
	ASSERT_EQ(0, estp_proc_cc(proto, lport, port, &rto, &cwnd, &ssthresh));
	EXPECT_EQ(7, ssthresh);
	EXPECT_EQ(7, cwnd);
}

/*
 * A SYN cookie keeps the SYN's window scale, SACK-permitted and ECN in the
 * low 6 bits of the SYN-ACK's TSval (seen on the wire with net.*timestamps
 * 2, which adds no offset), and the connection the final ACK opens uses
 * them: its segments carry timestamps, a scaled window, SACK blocks and ECE
 * after CE.  Without timestamps the SYN-ACK offers the MSS alone.
 */
TEST_F(ecn, cookie_options)
{
	int proto = variant->proto, lport = LPORT + 3, port = PEER_PORT_MIN + 40, ws;
	uint32_t synack_win;
	struct rseg r;

	ASSERT_EQ(0, knob(proto, "syncookies", "2"));
	/* TSvals without a random offset, so that the option bits show. */
	ASSERT_EQ(0, knob(proto, "timestamps", "2"));
	ASSERT_EQ(0, listen_on(self, proto, lport));
	ASSERT_EQ(0, raw_open(self, port, lport, OPT_ALL, PKT_ECE | PKT_CWR));
	EXPECT_EQ(PKT_SYN | PKT_ACK | PKT_ECE, self->synack.flags);
	EXPECT_EQ(1, self->synack.ts);
	EXPECT_EQ(1, self->synack.sack_perm);
	ASSERT_LT(0, self->synack.ws);
	EXPECT_EQ(PEER_TSVAL, self->synack.tsecr);
	EXPECT_EQ(PEER_WSCALE | 0x10u | 0x20u, self->synack.tsval & 0x3f);
	EXPECT_EQ(1, estp_counter(proto, "SyncookiesRecv"));
	ws = self->synack.ws;
	synack_win = self->synack.win;

	/* Data from the child: timestamps, a scaled window, ECT(0). */
	ASSERT_EQ(1, write(self->afd, "z", 1));
	ASSERT_EQ(1, conn_recv(self, PEER_ANSWER_MS, &r));
	EXPECT_EQ(1, r.len);
	EXPECT_EQ(1, r.ts);
	EXPECT_EQ(PEER_TSVAL + 10, r.tsecr);
	EXPECT_EQ(ECN_ECT0, r.ecn);
	EXPECT_GE(2 * synack_win, (uint32_t)r.win << ws);
	EXPECT_LE(synack_win / 2, (uint32_t)r.win << ws);
	/* Out of order: a SACK block. */
	ASSERT_EQ(0, conn_send(self, PKT_ACK, self->seq + 100, 10, ECN_NOT_ECT));
	ASSERT_EQ(1, conn_recv(self, PEER_ANSWER_MS, &r));
	EXPECT_EQ(self->seq, r.ack);
	EXPECT_EQ(1, r.nsacks);
	/* CE in order: ECE. */
	ASSERT_EQ(0, conn_send(self, PKT_ACK, self->seq, 10, ECN_CE));
	ASSERT_EQ(1, conn_recv(self, PEER_ANSWER_MS, &r));
	EXPECT_EQ(self->seq + 10, r.ack);
	EXPECT_EQ(PKT_ACK | PKT_ECE, r.flags & ~PKT_PSH);

	/* No timestamps: the MSS alone, no ECE, an unscaled window after. */
	estp_close_abort(&self->afd);
	ASSERT_EQ(0, raw_open(self, port + 1, lport, OPT_MSS | OPT_SACK | OPT_WS,
			      PKT_ECE | PKT_CWR));
	EXPECT_EQ(PKT_SYN | PKT_ACK, self->synack.flags);
	EXPECT_NE(0, self->synack.mss);
	EXPECT_EQ(0, self->synack.ts);
	EXPECT_EQ(0, self->synack.sack_perm);
	EXPECT_EQ(-1, self->synack.ws);
	ASSERT_EQ(0, conn_send(self, PKT_ACK, self->seq + 100, 10, ECN_CE));
	ASSERT_EQ(1, conn_recv(self, PEER_ANSWER_MS, &r));
	EXPECT_EQ(PKT_ACK, r.flags);
	EXPECT_EQ(0, r.nsacks);
	EXPECT_EQ(0, r.ts);
}

/*
 * A cookie connection between two sockets, with TSval offsets (the default
 * net.*timestamps 1) and ECN asked for: the final ACK's TSecr is read back
 * through the hashed offset, and the child's data carries timestamps and
 * ECT(0); data goes both ways.
 */
TEST_F(ecn, cookie_sockets)
{
	int proto = variant->proto, lport = LPORT + 5, cport;
	struct sockaddr_in sin = estp_sin4(PEER_ADDR, lport);
	struct pollfd pfd = { .events = POLLIN };
	struct rseg r;
	char c;

	ASSERT_EQ(0, knob(proto, "syncookies", "2"));
	ASSERT_EQ(0, knob(proto, "ecn", "1"));
	ASSERT_EQ(0, listen_on(self, proto, lport));
	self->cfd = socket(AF_INET, SOCK_STREAM, proto);
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(0, connect(self->cfd, (struct sockaddr *)&sin, sizeof(sin)));
	cport = estp_local_port(self->cfd);
	pfd.fd = self->lfd;
	ASSERT_EQ(1, poll(&pfd, 1, 2000));
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
	EXPECT_EQ(1, estp_counter(proto, "SyncookiesRecv"));
	EXPECT_EQ(0, estp_counter(proto, "SyncookiesFailed"));

	ASSERT_EQ(1, raw_recv(self, lport, cport, PEER_ANSWER_MS, &r));
	EXPECT_EQ(PKT_SYN | PKT_ACK | PKT_ECE, r.flags);
	EXPECT_EQ(1, r.ts);
	EXPECT_LE(0, r.ws);
	ASSERT_EQ(1, write(self->afd, "a", 1));
	ASSERT_EQ(1, raw_recv(self, lport, cport, PEER_ANSWER_MS, &r));
	EXPECT_EQ(1, r.len);
	EXPECT_EQ(1, r.ts);
	EXPECT_NE(0u, r.tsecr);
	EXPECT_EQ(ECN_ECT0, r.ecn);
	ASSERT_EQ(1, read(self->cfd, &c, 1));
	EXPECT_EQ('a', c);
	ASSERT_EQ(1, write(self->cfd, "b", 1));
	ASSERT_EQ(1, read(self->afd, &c, 1));
	EXPECT_EQ('b', c);
}

/* A RST for a CE-marked segment to no socket is Not-ECT. */
TEST_F(ecn, reset_not_ect)
{
	int port = PEER_PORT_MIN + 50, lport = LPORT + 4;
	struct rseg r;

	ASSERT_EQ(0, raw_send(self, port, lport, PKT_ACK, 1, 1, NULL, 0, 10, ECN_CE));
	ASSERT_EQ(1, raw_recv(self, lport, port, PEER_ANSWER_MS, &r));
	EXPECT_EQ(PKT_RST, r.flags);
	EXPECT_EQ(ECN_NOT_ECT, r.ecn);
}

TEST_HARNESS_MAIN
