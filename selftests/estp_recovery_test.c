// SPDX-License-Identifier: GPL-2.0
/*
 * Loss recovery segment by segment, TCP beside ESTP: a raw peer
 * (estp_peer.h) plays the other end of an accepted connection, loses,
 * duplicates and acknowledges what the test says, and the test asserts
 * what the accepted socket sends and what it counts.
 *
 * The listener uses Reno and the peer offers an MSS of 1000 and no
 * timestamps (or, where a test sets self->ts, 12 bytes more and
 * timestamps), so that the windows are whole numbers of 1000-byte segments
 * the same for both protocols; lo sends one segment a packet (no GSO).
 *
 * Covered elsewhere: the tail loss probe and SACK reneging (estp_wire_test
 * rawpeer.loss_probe_*, sack_reneging), the first ACKs' quick ACKs
 * (rawpeer.quickack_first_segments).
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "kselftest_harness.h"
#include "estp_lib.h"
#include "estp_peer.h"

#define R_PORT		1200	/* the raw peer's */
#define R_LPORT		22100	/* the listener's */
#define R_ISN		0x7ffffc00u	/* the peer's: crosses 2^31 */
#define R_MSS		1000u
#define ANSWER_MS	2000
/* Long enough for an answer on lo, short of any RTO here (>= 900 ms). */
#define QUIET_MS	150
/* The handshake's RTT: an RTO of about 900 ms, a probe timeout of 600 ms. */
#define SLOW_HANDSHAKE_MS	300

/* A segment the listener sent: header, payload length, SACK blocks. */
struct rseg {
	struct pkt_seg h;
	uint32_t len;
	uint32_t tsval;
	int nsacks;
	uint32_t sacks[4][2];
};

FIXTURE(rec)
{
	struct estp_peer p;
	int lfd, afd;
	uint32_t snd_una;	/* the listener's: what the peer acknowledged */
	uint32_t iss;		/* the listener's ISN + 1 */
	uint32_t rcv;		/* the peer's next sequence number */
	bool ts;		/* the peer sends timestamps (r_connect() on) */
	uint32_t tsval, tsecr;	/* the peer's next TSval, the TSecr it sends */
};

FIXTURE_VARIANTS_TCP_ESTP(rec);

FIXTURE_SETUP(rec)
{
	const char *err;

	self->lfd = self->afd = -1;
	self->ts = false;
	self->tsval = 1;
	err = peer_open(&self->p, variant->proto);
	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	/* One segment a packet, before the listener: TCP then segments as ESTP. */
	ASSERT_EQ(0, estp_run("ip link set dev lo gso_max_segs 1"));
}

FIXTURE_TEARDOWN(rec)
{
	estp_close_abort(&self->afd);
	estp_close_abort(&self->lfd);
	peer_close(&self->p);
}

/*
 * Sends a segment from the peer: @flags, sequence @seq, ACK @ack, the
 * SACK blocks @sacks (@nsacks of them, start and end) and @len bytes of
 * data.  0 or -1.
 */
static int r_send(FIXTURE_DATA(rec) *self, uint32_t seq, uint32_t ack, uint8_t flags,
		  const uint32_t (*sacks)[2], int nsacks, const uint8_t *opt, int optlen,
		  int len)
{
	uint8_t buf[20 + 40 + R_MSS];
	int hlen = PKT_HDR_LEN + optlen + (nsacks ? 4 + 8 * nsacks : 0);
	uint8_t *o = buf + PKT_HDR_LEN;
	int i;

	memset(buf, 0, sizeof(buf));
	pkt_put16(buf, R_PORT);
	pkt_put16(buf + 2, R_LPORT);
	pkt_put32(buf + 4, seq);
	pkt_put32(buf + 8, ack);
	buf[12] = (hlen / 4) << 4;
	buf[13] = flags;
	pkt_put16(buf + 14, PEER_WIN);
	memcpy(o, opt, optlen);
	o += optlen;
	if (nsacks) {
		*o++ = 1;
		*o++ = 1;
		*o++ = 5;
		*o++ = 2 + 8 * nsacks;
		for (i = 0; i < nsacks; i++, o += 8) {
			pkt_put32(o, sacks[i][0]);
			pkt_put32(o + 4, sacks[i][1]);
		}
	}
	for (i = 0; i < len; i++)
		buf[hlen + i] = 'a' + i % 26;
	return peer_send_buf(&self->p, buf, hlen + len);
}

/* A pure ACK of @ack (from the listener's ISN + 1) with @nsacks blocks, the same offsets. */
static int r_ack(FIXTURE_DATA(rec) *self, uint32_t ack, const uint32_t (*sacks)[2],
		 int nsacks)
{
	uint8_t ts[12] = { 1, 1, 8, 10 };
	uint32_t abs[4][2];
	int i;

	for (i = 0; i < nsacks; i++) {
		abs[i][0] = self->iss + sacks[i][0];
		abs[i][1] = self->iss + sacks[i][1];
	}
	pkt_put32(ts + 4, self->tsval++);
	pkt_put32(ts + 8, self->tsecr);
	return r_send(self, self->rcv, self->iss + ack, PKT_ACK, abs, nsacks, ts,
		      self->ts ? 12 : 0, 0);
}

/*
 * The next segment of the listener in @w, its sequence numbers and SACK
 * blocks made offsets (from the listener's ISN + 1 and the peer's): 1, 0
 * when none came within @ms, -1.
 */
static int r_recv(FIXTURE_DATA(rec) *self, int ms, struct rseg *w)
{
	uint8_t buf[2048];
	const uint8_t *th;
	ssize_t n;
	int i, ihl;

	memset(w, 0, sizeof(*w));
	n = pkt_recv_buf(self->p.raw, self->p.proto, R_LPORT, R_PORT, ms, buf, sizeof(buf),
			 &w->h);
	if (n <= 0)
		return (int)n;
	ihl = (buf[0] & 0xf) * 4;
	th = buf + ihl;
	w->len = w->h.seg_len - w->h.hdr_len;
	for (i = PKT_HDR_LEN; i < w->h.hdr_len;) {
		if (th[i] == 0)
			break;
		if (th[i] == 1) {
			i++;
			continue;
		}
		if (th[i] == 8 && th[i + 1] == 10)
			w->tsval = pkt_get32(th + i + 2);
		if (th[i] == 5) {
			for (w->nsacks = 0; w->nsacks < (th[i + 1] - 2) / 8 && w->nsacks < 4;
			     w->nsacks++) {
				w->sacks[w->nsacks][0] = pkt_get32(th + i + 2 + 8 * w->nsacks) -
							 self->iss;
				w->sacks[w->nsacks][1] = pkt_get32(th + i + 6 + 8 * w->nsacks) -
							 self->iss;
			}
		}
		i += th[i + 1] < 2 ? 1 : th[i + 1];
	}
	w->h.seq -= self->iss;
	w->h.ack -= R_ISN + 1;
	return 1;
}

/*
 * The handshake: a Reno listener, the peer's SYN with MSS 1000 and (if
 * @sack) SACK-permitted, its final ACK @delay_ms after the SYN-ACK, and
 * accept().
 */
static void r_connect(struct __test_metadata *_metadata, FIXTURE_DATA(rec) *self,
		      int proto, bool sack, int delay_ms)
{
	uint8_t syn_sack[20] = { 2, 4, R_MSS >> 8, R_MSS & 0xff, 1, 1, 4, 2, 1, 1, 8, 10 };
	struct sockaddr_in sin = estp_sin4(PEER_ADDR, R_LPORT);
	int one = 1, sndbuf = 256 << 10;
	struct rseg w;

	self->lfd = socket(AF_INET, SOCK_STREAM, proto);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, setsockopt(self->lfd, SOL_TCP, TCP_CONGESTION, "reno", 4));
	ASSERT_EQ(0, setsockopt(self->lfd, SOL_TCP, TCP_NODELAY, &one, sizeof(one)));
	/* Room for all the tests queue: send() must not block. */
	ASSERT_EQ(0, setsockopt(self->lfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)));
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(self->lfd, 1));
	self->iss = 0;
	if (self->ts) {
		/* SACK-permitted (or NOPs) and a timestamp. */
		if (!sack)
			syn_sack[6] = syn_sack[7] = 1;
		/* The listener's timestamps take 12 bytes: the payload stays 1000. */
		pkt_put16(syn_sack + 2, R_MSS + 12);
		pkt_put32(syn_sack + 12, self->tsval++);
	}
	ASSERT_EQ(0, r_send(self, R_ISN, 0, PKT_SYN, NULL, 0, syn_sack,
			    self->ts ? 20 : sack ? 8 : 4, 0));
	ASSERT_EQ(1, r_recv(self, ANSWER_MS, &w)) TH_LOG("no SYN-ACK");
	self->tsecr = w.tsval;
	ASSERT_EQ(PKT_SYN | PKT_ACK, w.h.flags);
	self->iss = w.h.seq + 1;
	self->rcv = R_ISN + 1;
	if (delay_ms)
		usleep(delay_ms * 1000);	/* the RTT the listener samples */
	ASSERT_EQ(0, r_ack(self, 0, NULL, 0));
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
	ASSERT_EQ(0, setsockopt(self->afd, SOL_TCP, TCP_NODELAY, &one, sizeof(one)));
}

/* Queue @n segments of data on the accepted socket. */
static void r_write(struct __test_metadata *_metadata, FIXTURE_DATA(rec) *self, int n)
{
	static const char data[20 * R_MSS];

	ssize_t len = n * (ssize_t)R_MSS;

	ASSERT_GE((ssize_t)sizeof(data), len);
	ASSERT_EQ(len, send(self->afd, data, len, 0));
}

/* The next segment must be data segment @i (0-based) of the stream. */
#define EXPECT_SEG(i) do {							\
	struct rseg _w;								\
	ASSERT_EQ(1, r_recv(self, ANSWER_MS, &_w)) TH_LOG("no segment %d", (i) + 1); \
	EXPECT_EQ((uint32_t)(i) * R_MSS, _w.h.seq) TH_LOG("not segment %d", (i) + 1); \
	EXPECT_EQ(R_MSS, _w.len);						\
} while (0)

/* Nothing may come within QUIET_MS. */
#define EXPECT_QUIET(what) do {							\
	struct rseg _w;								\
	int _r = r_recv(self, QUIET_MS, &_w);					\
	EXPECT_EQ(0, _r) TH_LOG("%s: segment %u (%d bytes) sent", what,	\
				_w.h.seq / R_MSS + 1, _w.len);			\
} while (0)

/* The accepted socket sends segments @from..@to - 1, in order. */
static void expect_segs(struct __test_metadata *_metadata, FIXTURE_DATA(rec) *self,
			int from, int to)
{
	int i;

	for (i = from; i < to; i++)
		EXPECT_SEG(i);
}

/*
 * The rest of the stream, segments @from..@to - 1: each must be new data
 * in order, and whenever the sender pauses the peer ACKs all it has.
 */
static void drain(struct __test_metadata *_metadata, FIXTURE_DATA(rec) *self,
		  int from, int to)
{
	int next = from, pauses = 0;
	struct rseg w;
	int r;

	while (next < to) {
		r = r_recv(self, QUIET_MS, &w);
		ASSERT_LE(0, r);
		if (!r) {
			ASSERT_GT(20, ++pauses) TH_LOG("stalled before segment %d", next + 1);
			ASSERT_EQ(0, r_ack(self, next * R_MSS, NULL, 0));
			continue;
		}
		ASSERT_EQ((uint32_t)next * R_MSS, w.h.seq) TH_LOG("segment %u, not %d",
								   w.h.seq / R_MSS + 1, next + 1);
		next++;
	}
	ASSERT_EQ(0, r_ack(self, to * R_MSS, NULL, 0));
}

/*
 * D-SACK sending (RFC 2883 4, tcp_dsack_set): data that arrives twice is
 * ACKed at once with a first SACK block that reports it, below the ACK
 * for data already delivered (TCPDSACKOldSent, DelayedACKLost), or
 * inside the second block for out-of-order data (TCPDSACKOfoSent).  The
 * next ACK carries no D-SACK.
 */
TEST_F_TIMEOUT(rec, dsack_sent, 60)
{
	long old = estp_counter(variant->proto, "DSACKOldSent");
	long ofo = estp_counter(variant->proto, "DSACKOfoSent");
	long lost = estp_counter(variant->proto, "DelayedACKLost");
	struct rseg w;

	r_connect(_metadata, self, variant->proto, true, 0);
	/* 0-1000 in order (the first segments are ACKed at once), twice. */
	ASSERT_EQ(0, r_send(self, R_ISN + 1, self->iss, PKT_ACK, NULL, 0, NULL, 0, R_MSS));
	ASSERT_EQ(1, r_recv(self, ANSWER_MS, &w));
	EXPECT_EQ(R_MSS, w.h.ack);
	EXPECT_EQ(0, w.nsacks);
	ASSERT_EQ(0, r_send(self, R_ISN + 1, self->iss, PKT_ACK, NULL, 0, NULL, 0, R_MSS));
	ASSERT_EQ(1, r_recv(self, ANSWER_MS, &w));
	EXPECT_EQ(R_MSS, w.h.ack);
	ASSERT_EQ(1, w.nsacks);
	EXPECT_EQ(R_ISN + 1 - self->iss, w.sacks[0][0]);
	EXPECT_EQ(R_ISN + 1 + R_MSS - self->iss, w.sacks[0][1]);
	/* 2000-3000 out of order, twice: D-SACK, then the SACK block. */
	ASSERT_EQ(0, r_send(self, R_ISN + 1 + 2 * R_MSS, self->iss, PKT_ACK, NULL, 0, NULL, 0,
			    R_MSS));
	ASSERT_EQ(1, r_recv(self, ANSWER_MS, &w));
	EXPECT_EQ(R_MSS, w.h.ack);
	EXPECT_EQ(1, w.nsacks);
	ASSERT_EQ(0, r_send(self, R_ISN + 1 + 2 * R_MSS, self->iss, PKT_ACK, NULL, 0, NULL, 0,
			    R_MSS));
	ASSERT_EQ(1, r_recv(self, ANSWER_MS, &w));
	EXPECT_EQ(R_MSS, w.h.ack);
	ASSERT_EQ(2, w.nsacks);
	EXPECT_EQ(R_ISN + 1 + 2 * R_MSS - self->iss, w.sacks[0][0]);
	EXPECT_EQ(R_ISN + 1 + 3 * R_MSS - self->iss, w.sacks[0][1]);
	EXPECT_EQ(w.sacks[0][0], w.sacks[1][0]);
	EXPECT_EQ(w.sacks[0][1], w.sacks[1][1]);
	/* The hole fills: a plain ACK of all, no D-SACK again. */
	ASSERT_EQ(0, r_send(self, R_ISN + 1 + R_MSS, self->iss, PKT_ACK, NULL, 0, NULL, 0,
			    R_MSS));
	ASSERT_EQ(1, r_recv(self, ANSWER_MS, &w));
	EXPECT_EQ(3 * R_MSS, w.h.ack);
	EXPECT_EQ(0, w.nsacks);
	EXPECT_EQ(old + 1, estp_counter(variant->proto, "DSACKOldSent"));
	EXPECT_EQ(ofo + 1, estp_counter(variant->proto, "DSACKOfoSent"));
	EXPECT_EQ(lost + 1, estp_counter(variant->proto, "DelayedACKLost"));
}

/*
 * Fast retransmit without SACK and PRR (RFC 6937, tcp_cwnd_reduction):
 * ten segments in flight, the first lost.  The first two duplicate ACKs
 * each let a new segment go (Reno's emulated SACK in Disorder, limited
 * transmit), the third resends the first segment (TCPFastRetrans, TCPRenoRecovery); then
 * Reno's ssthresh is 5 of a prior cwnd of 10, so PRR sends one new
 * segment for every second duplicate ACK, not nothing until the flight
 * has drained to 5 and then one for each.  The ACK of all ends recovery.
 */
TEST_F_TIMEOUT(rec, fast_retransmit_prr, 60)
{
	long fr = estp_counter(variant->proto, "FastRetrans");
	long reno = estp_counter(variant->proto, "RenoRecovery");
	long rto = estp_counter(variant->proto, "Timeouts");
	long resent = estp_counter(variant->proto, "RetransSegs");

	r_connect(_metadata, self, variant->proto, false, SLOW_HANDSHAKE_MS);
	r_write(_metadata, self, 10);
	expect_segs(_metadata, self, 0, 10);
	r_write(_metadata, self, 10);
	EXPECT_QUIET("cwnd is full");
	/* Segments 2 and 3 arrived: limited transmit. */
	ASSERT_EQ(0, r_ack(self, 0, NULL, 0));
	EXPECT_SEG(10);
	ASSERT_EQ(0, r_ack(self, 0, NULL, 0));
	EXPECT_SEG(11);
	/* Segment 4: the third dupACK, fast retransmit. */
	ASSERT_EQ(0, r_ack(self, 0, NULL, 0));
	EXPECT_SEG(0);
	EXPECT_QUIET("PRR after the resend");
	/* Segments 5-8: one new segment every second dupACK. */
	ASSERT_EQ(0, r_ack(self, 0, NULL, 0));
	EXPECT_QUIET("PRR's 4th dupACK");
	ASSERT_EQ(0, r_ack(self, 0, NULL, 0));
	EXPECT_SEG(12);
	ASSERT_EQ(0, r_ack(self, 0, NULL, 0));
	EXPECT_QUIET("PRR's 6th dupACK");
	ASSERT_EQ(0, r_ack(self, 0, NULL, 0));
	EXPECT_SEG(13);
	EXPECT_EQ(fr + 1, estp_counter(variant->proto, "FastRetrans"));
	EXPECT_EQ(reno + 1, estp_counter(variant->proto, "RenoRecovery"));
	/* All of it: recovery ends, the rest goes. */
	ASSERT_EQ(0, r_ack(self, 14 * R_MSS, NULL, 0));
	drain(_metadata, self, 14, 20);
	EXPECT_EQ(rto, estp_counter(variant->proto, "Timeouts"));
	EXPECT_EQ(resent + 1, estp_counter(variant->proto, "RetransSegs"));
}

/* Receives new segments from @next on until the sender pauses: how many came. */
static int burst(struct __test_metadata *_metadata, FIXTURE_DATA(rec) *self, int next)
{
	struct rseg w;
	int n = 0;

	while (n < 30 && r_recv(self, QUIET_MS, &w) == 1) {
		EXPECT_EQ((uint32_t)(next + n) * R_MSS, w.h.seq) TH_LOG("a resend");
		n++;
	}
	return n;
}

/*
 * Undo by D-SACK (RFC 2883, tcp_try_undo_dsack): one ACK SACKs segments
 * 2-4 of ten, three, so the first is lost at once (RACK's dupACK
 * threshold); SACK recovery resends it and PRR lets one new segment go.
 * The ACK of all ends recovery at Reno's ssthresh of 5, and a late D-SACK
 * then reports that the first segment had arrived twice: the only resend
 * was not needed, so the window goes back to 10 (TCPDSACKRecv,
 * TCPDSACKUndo) and fills at once.
 */
TEST_F_TIMEOUT(rec, dsack_undo, 60)
{
	static const uint32_t sk[][2] = { { R_MSS, 4 * R_MSS } };
	static const uint32_t dsack[][2] = { { 0, R_MSS } };
	long rec = estp_counter(variant->proto, "SackRecovery");
	long recv = estp_counter(variant->proto, "DSACKRecv");
	long undo = estp_counter(variant->proto, "DSACKUndo");
	long full = estp_counter(variant->proto, "FullUndo");
	long rto = estp_counter(variant->proto, "Timeouts");
	long resent = estp_counter(variant->proto, "RetransSegs");
	int n1, n2;

	r_connect(_metadata, self, variant->proto, true, SLOW_HANDSHAKE_MS);
	r_write(_metadata, self, 10);
	expect_segs(_metadata, self, 0, 10);
	r_write(_metadata, self, 20);
	EXPECT_QUIET("cwnd is full");
	ASSERT_EQ(0, r_ack(self, 0, sk, 1));
	EXPECT_SEG(0);
	EXPECT_SEG(10);
	EXPECT_QUIET("PRR: the flight is at cwnd");
	EXPECT_EQ(rec + 1, estp_counter(variant->proto, "SackRecovery"));
	/* Everything up to the new segment: recovery ends, cwnd 5 or 6. */
	ASSERT_EQ(0, r_ack(self, 10 * R_MSS, NULL, 0));
	n1 = burst(_metadata, self, 11);
	EXPECT_LE(4, n1);
	EXPECT_GE(5, n1);
	EXPECT_EQ(full, estp_counter(variant->proto, "FullUndo"));
	/* A D-SACK of the first: back to the 10 before the episode. */
	ASSERT_EQ(0, r_ack(self, 10 * R_MSS, dsack, 1));
	n2 = burst(_metadata, self, 11 + n1);
	EXPECT_EQ(10 - (n1 + 1), n2);
	EXPECT_EQ(recv + 1, estp_counter(variant->proto, "DSACKRecv"));
	EXPECT_EQ(undo + 1, estp_counter(variant->proto, "DSACKUndo"));
	ASSERT_EQ(0, r_ack(self, (11 + n1 + n2) * R_MSS, NULL, 0));
	drain(_metadata, self, 11 + n1 + n2, 30);
	EXPECT_EQ(rto, estp_counter(variant->proto, "Timeouts"));
	EXPECT_EQ(resent + 1, estp_counter(variant->proto, "RetransSegs"));
}

/*
 * F-RTO (RFC 5682, tcp_process_loss): the RTO resends the first of ten
 * segments; its ACK is answered with two new segments instead of resends
 * (step 2.b, cwnd 2), and the next ACK, of segments never resent, proves
 * the timeout spurious (step 3.b): TCPSpuriousRTOs and TCPLossUndo count
 * it, the window is back and nothing else is resent.  No SACK, so no loss
 * probe goes before the RTO.
 */
TEST_F_TIMEOUT(rec, frto_spurious_rto, 60)
{
	long rto = estp_counter(variant->proto, "Timeouts");
	long spurious = estp_counter(variant->proto, "SpuriousRTOs");
	long undo = estp_counter(variant->proto, "LossUndo");
	long resent = estp_counter(variant->proto, "RetransSegs");
	struct rseg w;

	r_connect(_metadata, self, variant->proto, false, SLOW_HANDSHAKE_MS);
	r_write(_metadata, self, 20);
	expect_segs(_metadata, self, 0, 10);
	/* No ACK: the RTO resends the first. */
	ASSERT_EQ(1, r_recv(self, 3 * ANSWER_MS, &w)) TH_LOG("no RTO");
	EXPECT_EQ(0u, w.h.seq);
	EXPECT_EQ(R_MSS, w.len);
	EXPECT_EQ(rto + 1, estp_counter(variant->proto, "Timeouts"));
	/* Its ACK (or the original's): new data, not segment 2 again. */
	ASSERT_EQ(0, r_ack(self, R_MSS, NULL, 0));
	expect_segs(_metadata, self, 10, 12);
	EXPECT_QUIET("F-RTO's two new segments");
	/* The originals of 2-10 were only late: the RTO was spurious. */
	ASSERT_EQ(0, r_ack(self, 10 * R_MSS, NULL, 0));
	drain(_metadata, self, 12, 20);
	EXPECT_EQ(spurious + 1, estp_counter(variant->proto, "SpuriousRTOs"));
	EXPECT_EQ(undo + 1, estp_counter(variant->proto, "LossUndo"));
	EXPECT_EQ(rto + 1, estp_counter(variant->proto, "Timeouts"));
	EXPECT_EQ(resent + 1, estp_counter(variant->proto, "RetransSegs"));
}

/*
 * RACK's reordering window (RFC 8985 6.2, tcp_rack_reo_wnd and
 * tcp_rack_update_reo_wnd).  Every ACK of the peer comes an RTT of 300 ms
 * after the data, so the least RTT, and a step of the window (a quarter
 * of it), are 75 ms.  (1) Segment 2 is SACKed before segment 1 arrives:
 * reordering (TCPSACKReorder).  (2) Segments 4-10 are SACKed past a hole
 * at 3: with no reordering seen, seven SACKed segments would be past the
 * dupACK threshold and 3 resent at once; now RACK waits a step first.
 * (3) The resend is D-SACKed: the window grows to two steps, so that the
 * next hole, at 11 with 12-15 SACKed, is resent only after 150 ms.
 */
TEST_F_TIMEOUT(rec, rack_reo_wnd_dsack, 60)
{
	static const uint32_t sk1[][2] = { { R_MSS, 2 * R_MSS } };
	static const uint32_t sk2[][2] = { { 3 * R_MSS, 10 * R_MSS } };
	static const uint32_t dsack[][2] = { { 2 * R_MSS, 3 * R_MSS } };
	static const uint32_t sk3[][2] = { { 11 * R_MSS, 15 * R_MSS } };
	long reorder = estp_counter(variant->proto, "SACKReorder");
	long recv = estp_counter(variant->proto, "DSACKRecv");
	long rto = estp_counter(variant->proto, "Timeouts");
	struct rseg w;

	r_connect(_metadata, self, variant->proto, true, SLOW_HANDSHAKE_MS);
	r_write(_metadata, self, 10);
	expect_segs(_metadata, self, 0, 10);
	usleep(SLOW_HANDSHAKE_MS * 1000);
	ASSERT_EQ(0, r_ack(self, 0, sk1, 1));
	ASSERT_EQ(0, r_ack(self, 2 * R_MSS, NULL, 0));
	EXPECT_EQ(reorder + 1, estp_counter(variant->proto, "SACKReorder"));
	EXPECT_QUIET("segment 1 came late, not lost");

	usleep(SLOW_HANDSHAKE_MS * 1000);
	ASSERT_EQ(0, r_ack(self, 2 * R_MSS, sk2, 1));
	/* Not at once: a step of the window (75 ms) first. */
	ASSERT_EQ(0, r_recv(self, 40, &w)) TH_LOG("segment %u resent at once",
						  w.h.seq / R_MSS + 1);
	EXPECT_SEG(2);

	usleep(SLOW_HANDSHAKE_MS * 1000);
	ASSERT_EQ(0, r_ack(self, 10 * R_MSS, dsack, 1));
	EXPECT_EQ(recv + 1, estp_counter(variant->proto, "DSACKRecv"));
	r_write(_metadata, self, 5);
	expect_segs(_metadata, self, 10, 15);
	usleep(SLOW_HANDSHAKE_MS * 1000);
	ASSERT_EQ(0, r_ack(self, 10 * R_MSS, sk3, 1));
	/* Two steps now: nothing within 110 ms, then the hole. */
	ASSERT_EQ(0, r_recv(self, 110, &w)) TH_LOG("segment %u resent within a step",
						   w.h.seq / R_MSS + 1);
	EXPECT_SEG(10);
	ASSERT_EQ(0, r_ack(self, 15 * R_MSS, NULL, 0));
	EXPECT_QUIET("all acknowledged");
	EXPECT_EQ(rto, estp_counter(variant->proto, "Timeouts"));
}

/*
 * What the ACK of a tail loss probe that resent the last segment says
 * (tcp_process_tlp_ack): an ACK past it with no D-SACK means the probe
 * repaired a loss, which costs a window reduction (TCPLossProbeRecovery,
 * ssthresh set, cwnd down to it at once); with a D-SACK of the resend
 * the original had arrived too, and nothing changes.  The first four of
 * five segments are ACKed at once, the last only after the probe; a
 * second ACK, of new data, passes the probe's sequence.
 */
static void loss_probe_ack(struct __test_metadata *_metadata, FIXTURE_DATA(rec) *self,
			   int proto, bool dsack)
{
	static const uint32_t dsk[][2] = { { 4 * R_MSS, 5 * R_MSS } };
	long probes = estp_counter(proto, "LossProbes");
	long recovered = estp_counter(proto, "LossProbeRecovery");
	long noundo = estp_counter(proto, "DSACKIgnoredNoUndo");
	long ign_old = estp_counter(proto, "DSACKIgnoredOld");
	long rto, cwnd, ssthresh;

	r_connect(_metadata, self, proto, true, SLOW_HANDSHAKE_MS);
	r_write(_metadata, self, 5);
	expect_segs(_metadata, self, 0, 5);
	ASSERT_EQ(0, r_ack(self, 4 * R_MSS, NULL, 0));
	/* The probe: the last segment again, before any RTO. */
	EXPECT_SEG(4);
	EXPECT_EQ(probes + 1, estp_counter(proto, "LossProbes"));
	ASSERT_EQ(0, r_ack(self, 5 * R_MSS, dsack ? dsk : NULL, dsack));
	r_write(_metadata, self, 1);
	EXPECT_SEG(5);
	ASSERT_EQ(0, r_ack(self, 6 * R_MSS, NULL, 0));
	EXPECT_QUIET("all acknowledged");
	ASSERT_EQ(0, estp_proc_cc(proto, R_LPORT, R_PORT, &rto, &cwnd, &ssthresh));
	/*
	 * The D-SACK, below snd_una and with no episode to undo (a probe
	 * sets no undo_marker), is ignored by the SACK walk.
	 */
	EXPECT_EQ(noundo + dsack, estp_counter(proto, "DSACKIgnoredNoUndo"));
	EXPECT_EQ(ign_old, estp_counter(proto, "DSACKIgnoredOld"));
	if (dsack) {
		EXPECT_EQ(recovered, estp_counter(proto, "LossProbeRecovery"));
		EXPECT_EQ(-1, ssthresh);
	} else {
		EXPECT_EQ(recovered + 1, estp_counter(proto, "LossProbeRecovery"));
		EXPECT_LT(0, ssthresh);
		EXPECT_GE(ssthresh + 1, cwnd);
	}
}

TEST_F_TIMEOUT(rec, loss_probe_recovery, 60)
{
	loss_probe_ack(_metadata, self, variant->proto, false);
}

TEST_F_TIMEOUT(rec, loss_probe_dsack, 60)
{
	loss_probe_ack(_metadata, self, variant->proto, true);
}

/*
 * D-SACKs of more than was ever resent (tcp_dsack_seen: dsack_dups past
 * total_retrans) are ignored (TCPDSACKIgnoredDubious), counted first as
 * received: below the ACK (TCPDSACKRecv) or inside the second SACK block
 * (TCPDSACKOfoRecv, RFC 2883 4.2).  Nothing was resent here.
 */
TEST_F_TIMEOUT(rec, dsack_dubious, 60)
{
	static const uint32_t old[][2] = { { 0, R_MSS } };
	static const uint32_t ofo[][2] = { { 5 * R_MSS, 6 * R_MSS }, { 5 * R_MSS, 6 * R_MSS } };
	long recv = estp_counter(variant->proto, "DSACKRecv");
	long ofo_recv = estp_counter(variant->proto, "DSACKOfoRecv");
	long dubious = estp_counter(variant->proto, "DSACKIgnoredDubious");
	long ign_old = estp_counter(variant->proto, "DSACKIgnoredOld");
	long noundo = estp_counter(variant->proto, "DSACKIgnoredNoUndo");
	long resent = estp_counter(variant->proto, "RetransSegs");

	r_connect(_metadata, self, variant->proto, true, SLOW_HANDSHAKE_MS);
	r_write(_metadata, self, 6);
	expect_segs(_metadata, self, 0, 6);
	ASSERT_EQ(0, r_ack(self, R_MSS, old, 1));
	EXPECT_EQ(recv + 1, estp_counter(variant->proto, "DSACKRecv"));
	EXPECT_EQ(ofo_recv, estp_counter(variant->proto, "DSACKOfoRecv"));
	EXPECT_EQ(dubious + 1, estp_counter(variant->proto, "DSACKIgnoredDubious"));
	ASSERT_EQ(0, r_ack(self, 5 * R_MSS, ofo, 2));
	EXPECT_EQ(recv + 1, estp_counter(variant->proto, "DSACKRecv"));
	EXPECT_EQ(ofo_recv + 1, estp_counter(variant->proto, "DSACKOfoRecv"));
	EXPECT_EQ(dubious + 2, estp_counter(variant->proto, "DSACKIgnoredDubious"));
	ASSERT_EQ(0, r_ack(self, 6 * R_MSS, NULL, 0));
	EXPECT_QUIET("all acknowledged");
	EXPECT_EQ(ign_old, estp_counter(variant->proto, "DSACKIgnoredOld"));
	EXPECT_EQ(noundo, estp_counter(variant->proto, "DSACKIgnoredNoUndo"));
	EXPECT_EQ(resent, estp_counter(variant->proto, "RetransSegs"));
}

/*
 * A D-SACK of data from before the episode (tcp_is_sackblock_valid: it
 * ends at or below undo_marker) is ignored by the SACK walk
 * (TCPDSACKIgnoredOld), though counted as received: segments 1-2 are
 * ACKed, 4-6 SACKed, 3 resent in SACK recovery; then a D-SACK of
 * segment 1 comes.
 */
TEST_F_TIMEOUT(rec, dsack_ignored_old, 60)
{
	static const uint32_t sk[][2] = { { 3 * R_MSS, 6 * R_MSS } };
	static const uint32_t dsk[][2] = { { 0, R_MSS }, { 3 * R_MSS, 6 * R_MSS } };
	long rec = estp_counter(variant->proto, "SackRecovery");
	long recv = estp_counter(variant->proto, "DSACKRecv");
	long dubious = estp_counter(variant->proto, "DSACKIgnoredDubious");
	long ign_old = estp_counter(variant->proto, "DSACKIgnoredOld");
	long noundo = estp_counter(variant->proto, "DSACKIgnoredNoUndo");

	r_connect(_metadata, self, variant->proto, true, SLOW_HANDSHAKE_MS);
	r_write(_metadata, self, 10);
	expect_segs(_metadata, self, 0, 10);
	ASSERT_EQ(0, r_ack(self, 2 * R_MSS, NULL, 0));
	EXPECT_QUIET("nothing more to send");
	ASSERT_EQ(0, r_ack(self, 2 * R_MSS, sk, 1));
	EXPECT_SEG(2);
	EXPECT_EQ(rec + 1, estp_counter(variant->proto, "SackRecovery"));
	ASSERT_EQ(0, r_ack(self, 2 * R_MSS, dsk, 2));
	EXPECT_EQ(recv + 1, estp_counter(variant->proto, "DSACKRecv"));
	EXPECT_EQ(ign_old + 1, estp_counter(variant->proto, "DSACKIgnoredOld"));
	EXPECT_EQ(noundo, estp_counter(variant->proto, "DSACKIgnoredNoUndo"));
	EXPECT_EQ(dubious, estp_counter(variant->proto, "DSACKIgnoredDubious"));
	ASSERT_EQ(0, r_ack(self, 10 * R_MSS, NULL, 0));
	EXPECT_QUIET("all acknowledged");
}

/*
 * Resends in Loss after the RTO's own (tcp_xmit_retransmit_queue,
 * TCPSlowStartRetrans).  F-RTO off, no SACK: the RTO marks all ten
 * segments lost and resends the first; its ACK makes cwnd 2, and the
 * next two go again.
 */
TEST_F_TIMEOUT(rec, slow_start_retrans, 60)
{
	long rto = estp_counter(variant->proto, "Timeouts");
	long ss = estp_counter(variant->proto, "SlowStartRetrans");
	long fr = estp_counter(variant->proto, "FastRetrans");
	struct rseg w;

	ASSERT_EQ(0, estp_sysctl_set(variant->proto == IPPROTO_TCP ?
				     "/proc/sys/net/ipv4/tcp_frto" :
				     "/proc/sys/net/estp/frto", "0"));
	r_connect(_metadata, self, variant->proto, false, SLOW_HANDSHAKE_MS);
	r_write(_metadata, self, 10);
	expect_segs(_metadata, self, 0, 10);
	ASSERT_EQ(1, r_recv(self, 3 * ANSWER_MS, &w)) TH_LOG("no RTO");
	EXPECT_EQ(0u, w.h.seq);
	EXPECT_EQ(rto + 1, estp_counter(variant->proto, "Timeouts"));
	EXPECT_EQ(ss, estp_counter(variant->proto, "SlowStartRetrans"));
	ASSERT_EQ(0, r_ack(self, R_MSS, NULL, 0));
	expect_segs(_metadata, self, 1, 3);
	EXPECT_QUIET("cwnd 2");
	EXPECT_EQ(ss + 2, estp_counter(variant->proto, "SlowStartRetrans"));
	EXPECT_EQ(fr, estp_counter(variant->proto, "FastRetrans"));
	ASSERT_EQ(0, r_ack(self, 10 * R_MSS, NULL, 0));
	EXPECT_QUIET("all acknowledged");
	EXPECT_EQ(rto + 1, estp_counter(variant->proto, "Timeouts"));
	EXPECT_EQ(ss + 2, estp_counter(variant->proto, "SlowStartRetrans"));
}

/*
 * Undo on a partial ACK (tcp_try_undo_partial): with timestamps, an ACK
 * in SACK recovery that echoes the TSval of the first segment's original,
 * sent before its resend, shows that the hole was filled by the delayed
 * original (tcp_packet_delayed): reordering (TCPTSReorder), and with no
 * resend left in flight, the window reduction undone (TCPPartialUndo).
 */
TEST_F_TIMEOUT(rec, partial_undo_ts, 60)
{
	static const uint32_t sk[][2] = { { R_MSS, 4 * R_MSS } };
	long rec = estp_counter(variant->proto, "SackRecovery");
	long partial = estp_counter(variant->proto, "PartialUndo");
	long tsreo = estp_counter(variant->proto, "TSReorder");
	long sackreo = estp_counter(variant->proto, "SACKReorder");
	uint32_t first;
	struct rseg w;

	self->ts = true;
	r_connect(_metadata, self, variant->proto, true, SLOW_HANDSHAKE_MS);
	r_write(_metadata, self, 10);
	ASSERT_EQ(1, r_recv(self, ANSWER_MS, &w));
	ASSERT_EQ(0u, w.h.seq);
	first = w.tsval;
	expect_segs(_metadata, self, 1, 10);
	usleep(20 * 1000);	/* the resend's TSval is past the original's */
	self->tsecr = first;
	ASSERT_EQ(0, r_ack(self, 0, sk, 1));
	ASSERT_EQ(1, r_recv(self, ANSWER_MS, &w));
	EXPECT_EQ(0u, w.h.seq);
	EXPECT_LT(first, w.tsval);
	EXPECT_EQ(rec + 1, estp_counter(variant->proto, "SackRecovery"));
	EXPECT_EQ(partial, estp_counter(variant->proto, "PartialUndo"));
	/* The original arrived: 1-4 ACKed, echoing its TSval. */
	ASSERT_EQ(0, r_ack(self, 4 * R_MSS, NULL, 0));
	EXPECT_EQ(partial + 1, estp_counter(variant->proto, "PartialUndo"));
	EXPECT_EQ(tsreo + 1, estp_counter(variant->proto, "TSReorder"));
	EXPECT_EQ(sackreo, estp_counter(variant->proto, "SACKReorder"));
	ASSERT_EQ(0, r_ack(self, 10 * R_MSS, NULL, 0));
	EXPECT_QUIET("all acknowledged");
}

TEST_HARNESS_MAIN
