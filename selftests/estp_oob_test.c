// SPDX-License-Identifier: GPL-2.0
/*
 * Urgent data as Linux TCP has it, TCP being the specification (every
 * TEST_F runs for TCP and ESTP as fixture variants and asserts what TCP
 * does).  A connected pair over loopback (IPv4, IPv6 and v4-mapped IPv6):
 * send(MSG_OOB) marks the last byte urgent; the reader gets SIGURG (F_SETOWN) and EPOLLPRI, a read stops
 * at the mark, SIOCATMARK tells it is there, recv(MSG_OOB) takes the byte
 * out of band (once; EINVAL with none, read already or SO_OOBINLINE),
 * and with SO_OOBINLINE it stays in the stream.  Through the raw peer of
 * estp_peer.h: the URG flag and urgent pointer of the segments sent, and
 * the URG segments received, a pointer ahead of its byte included (EAGAIN
 * until the byte comes).  And, by the raw peer too, the receive queues
 * collapsed under memory pressure rather than data dropped (the raw
 * peer's cases on IPv4 only).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "estp_lib.h"
#include "estp_peer.h"

#define PAIR_PORT	22500
#define ANSWER_MS	2000

static volatile sig_atomic_t sigurg_count;

static void on_sigurg(int sig)
{
	(void)sig;
	sigurg_count++;
}

/* SIGURG of @fd comes to this process, counted in sigurg_count. */
static int own_sigurg(int fd)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigurg;
	sa.sa_flags = SA_RESTART;
	sigurg_count = 0;
	if (sigaction(SIGURG, &sa, NULL))
		return -1;
	return fcntl(fd, F_SETOWN, getpid());
}

/* poll() of @fd for @events within @ms: the revents. */
static short poll_for(int fd, short events, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	if (poll(&pfd, 1, ms) < 0)
		return -1;
	return pfd.revents;
}

static int at_mark(int fd)
{
	int v = -1;

	if (ioctl(fd, SIOCATMARK, &v))
		return -1;
	return v;
}

/* recv() of @fd: the length, or -errno. */
static int recv_err(int fd, void *buf, size_t len, int flags)
{
	ssize_t n = recv(fd, buf, len, flags);

	return n < 0 ? -errno : (int)n;
}

FIXTURE(pair)
{
	int lfd, cfd, afd;
};

/* A connected pair over loopback: IPv4, IPv6 or v4-mapped IPv6. */
FIXTURE_VARIANTS_FAMILIES(pair);

FIXTURE_SETUP(pair)
{
	struct sockaddr_storage ss;
	socklen_t len = estp_loopback(variant->fam, PAIR_PORT, &ss);
	int one = 1;

	self->lfd = self->cfd = self->afd = -1;
	ASSERT_EQ(0, estp_netns_private());
	self->lfd = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, setsockopt(self->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&ss, len));
	ASSERT_EQ(0, listen(self->lfd, 1));
	self->cfd = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(0, connect(self->cfd, (struct sockaddr *)&ss, len));
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
}

FIXTURE_TEARDOWN(pair)
{
	estp_close_abort(&self->afd);
	estp_close_abort(&self->cfd);
	estp_close_abort(&self->lfd);
}

/*
 * "ab", "c" urgent, "de": SIGURG and EPOLLPRI come with the urgent byte; a
 * read stops before it, SIOCATMARK is 1 there and 0 before and after;
 * recv(MSG_OOB) takes it once (MSG_PEEK leaves it), EINVAL after; the
 * stream goes on without it.
 */
TEST_F(pair, oob_byte)
{
	struct iovec iov;
	struct msghdr mh;
	char buf[16];

	ASSERT_EQ(0, own_sigurg(self->afd));
	ASSERT_EQ(2, send(self->cfd, "ab", 2, 0));
	ASSERT_EQ(1, send(self->cfd, "c", 1, MSG_OOB));
	ASSERT_EQ(2, send(self->cfd, "de", 2, 0));
	ASSERT_EQ(POLLPRI | POLLIN, poll_for(self->afd, POLLPRI | POLLIN, ANSWER_MS) &
				    (POLLPRI | POLLIN));
	EXPECT_EQ(1, sigurg_count);
	EXPECT_EQ(0, at_mark(self->afd));
	/* The read stops at the mark. */
	ASSERT_EQ(2, recv_err(self->afd, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "ab", 2));
	EXPECT_EQ(1, at_mark(self->afd));
	/* Peeked, then taken, with MSG_OOB in msg_flags. */
	buf[0] = 0;
	EXPECT_EQ(1, recv_err(self->afd, buf, sizeof(buf), MSG_OOB | MSG_PEEK));
	EXPECT_EQ('c', buf[0]);
	EXPECT_EQ(POLLPRI, poll_for(self->afd, POLLPRI, 0));
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	buf[0] = 0;
	EXPECT_EQ(1, recvmsg(self->afd, &mh, MSG_OOB));
	EXPECT_EQ('c', buf[0]);
	EXPECT_EQ(MSG_OOB, mh.msg_flags & (MSG_OOB | MSG_TRUNC));
	EXPECT_EQ(0, poll_for(self->afd, POLLPRI, 0));
	/* Read already. */
	EXPECT_EQ(-EINVAL, recv_err(self->afd, buf, sizeof(buf), MSG_OOB));
	EXPECT_EQ(1, at_mark(self->afd));
	/* The stream goes on after the urgent byte. */
	ASSERT_EQ(2, recv_err(self->afd, buf, 2, MSG_WAITALL));
	EXPECT_EQ(0, memcmp(buf, "de", 2));
	EXPECT_EQ(0, at_mark(self->afd));
	EXPECT_EQ(-EINVAL, recv_err(self->afd, buf, sizeof(buf), MSG_OOB));
	EXPECT_EQ(1, sigurg_count);
}

/* The urgent byte left unread: the read after the mark skips it. */
TEST_F(pair, oob_skipped)
{
	char buf[16];
	int inq = -1;

	ASSERT_EQ(2, send(self->cfd, "ab", 2, 0));
	ASSERT_EQ(1, send(self->cfd, "c", 1, MSG_OOB));
	ASSERT_EQ(2, send(self->cfd, "de", 2, 0));
	ASSERT_EQ(POLLPRI, poll_for(self->afd, POLLPRI, ANSWER_MS));
	/* SIOCINQ counts up to the mark. */
	ASSERT_EQ(0, ioctl(self->afd, SIOCINQ, &inq));
	EXPECT_EQ(2, inq);
	ASSERT_EQ(2, recv_err(self->afd, buf, sizeof(buf), 0));
	ASSERT_EQ(2, recv_err(self->afd, buf, 2, MSG_WAITALL));
	EXPECT_EQ(0, memcmp(buf, "de", 2));
	/* Gone with the stream: no urgent byte to read. */
	EXPECT_EQ(-EINVAL, recv_err(self->afd, buf, sizeof(buf), MSG_OOB));
}

/*
 * A zero-length recv(MSG_OOB): 0 with MSG_TRUNC; with MSG_PEEK the byte
 * stays, without it the byte is gone.
 */
TEST_F(pair, oob_zero_len)
{
	struct msghdr mh;
	char c = 0;

	ASSERT_EQ(1, send(self->cfd, "u", 1, MSG_OOB));
	ASSERT_EQ(POLLPRI, poll_for(self->afd, POLLPRI, ANSWER_MS));
	memset(&mh, 0, sizeof(mh));
	EXPECT_EQ(0, recvmsg(self->afd, &mh, MSG_OOB | MSG_PEEK));
	EXPECT_EQ(MSG_OOB | MSG_TRUNC, mh.msg_flags & (MSG_OOB | MSG_TRUNC));
	EXPECT_EQ(1, recv_err(self->afd, &c, 1, MSG_OOB | MSG_PEEK));
	EXPECT_EQ('u', c);
	memset(&mh, 0, sizeof(mh));
	EXPECT_EQ(0, recvmsg(self->afd, &mh, MSG_OOB));
	EXPECT_EQ(MSG_OOB | MSG_TRUNC, mh.msg_flags & (MSG_OOB | MSG_TRUNC));
	EXPECT_EQ(-EINVAL, recv_err(self->afd, &c, 1, MSG_OOB));
}

/*
 * SO_OOBINLINE: the byte stays in the stream; the read still stops at the
 * mark; recv(MSG_OOB) is EINVAL.
 */
TEST_F(pair, oobinline)
{
	int one = 1;
	char buf[16];

	ASSERT_EQ(0, setsockopt(self->afd, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one)));
	ASSERT_EQ(0, own_sigurg(self->afd));
	ASSERT_EQ(2, send(self->cfd, "ab", 2, 0));
	ASSERT_EQ(1, send(self->cfd, "c", 1, MSG_OOB));
	ASSERT_EQ(2, send(self->cfd, "de", 2, 0));
	ASSERT_EQ(POLLPRI, poll_for(self->afd, POLLPRI, ANSWER_MS));
	EXPECT_EQ(1, sigurg_count);
	EXPECT_EQ(-EINVAL, recv_err(self->afd, buf, sizeof(buf), MSG_OOB));
	ASSERT_EQ(2, recv_err(self->afd, buf, sizeof(buf), 0));
	EXPECT_EQ(1, at_mark(self->afd));
	ASSERT_EQ(3, recv_err(self->afd, buf, 3, MSG_WAITALL));
	EXPECT_EQ(0, memcmp(buf, "cde", 3));
	EXPECT_EQ(0, at_mark(self->afd));
}

/* recv(MSG_OOB) with nothing urgent: EINVAL, on a listener ENOTCONN. */
TEST_F(pair, oob_errnos)
{
	char buf[4];

	EXPECT_EQ(-EINVAL, recv_err(self->afd, buf, sizeof(buf), MSG_OOB));
	EXPECT_EQ(-EINVAL, recv_err(self->afd, buf, sizeof(buf), MSG_OOB | MSG_DONTWAIT));
	EXPECT_EQ(-ENOTCONN, recv_err(self->lfd, buf, sizeof(buf), MSG_OOB));
	EXPECT_EQ(0, at_mark(self->afd));
	/* After the peer's FIN, still EINVAL: nothing was urgent. */
	ASSERT_EQ(0, shutdown(self->cfd, SHUT_WR));
	ASSERT_EQ(0, recv_err(self->afd, buf, sizeof(buf), 0));
	EXPECT_EQ(-EINVAL, recv_err(self->afd, buf, sizeof(buf), MSG_OOB));
}

/* Two urgent bytes before a read: the second mark wins, the first is data. */
TEST_F(pair, oob_second_mark)
{
	char buf[16];
	int n = 0, r;

	ASSERT_EQ(2, send(self->cfd, "ab", 2, 0));
	ASSERT_EQ(1, send(self->cfd, "X", 1, MSG_OOB));
	ASSERT_EQ(2, send(self->cfd, "cd", 2, 0));
	ASSERT_EQ(1, send(self->cfd, "Y", 1, MSG_OOB));
	ASSERT_EQ(2, send(self->cfd, "ef", 2, 0));
	ASSERT_EQ(0, shutdown(self->cfd, SHUT_WR));
	ASSERT_EQ(POLLPRI, poll_for(self->afd, POLLPRI, ANSWER_MS));
	/* Up to the last mark: "abXcd" once it all came. */
	while (n < 5 && (r = recv_err(self->afd, buf + n, sizeof(buf) - n, 0)) > 0)
		n += r;
	ASSERT_EQ(5, n);
	EXPECT_EQ(0, memcmp(buf, "abXcd", 5));
	EXPECT_EQ(1, at_mark(self->afd));
	EXPECT_EQ(1, recv_err(self->afd, buf, sizeof(buf), MSG_OOB));
	EXPECT_EQ('Y', buf[0]);
	ASSERT_EQ(2, recv_err(self->afd, buf, 2, MSG_WAITALL));
	EXPECT_EQ(0, memcmp(buf, "ef", 2));
}

/* ---------------------------------------------------------------------- */
/* The raw peer: URG on the wire. */

#define R_PORT		1200
#define R_LPORT		22550
#define R_ISN		0x7ffffff0u	/* the stream's bytes cross 2^31 */

FIXTURE(wire)
{
	struct estp_peer p;
	struct peer_conn c;
	int lfd, afd;
};

/* The raw peer of estp_peer.h speaks IPv4 only: IPv4 alone. */
FIXTURE_VARIANTS_TCP_ESTP(wire);

/*
 * The raw peer in a netns of its own, connected from @port with ISN @isn to
 * a listener of @proto on @lport (SO_RCVBUF @rcvbuf unless 0): the
 * listener in *@lfd, the accepted socket in *@afd.
 */
static void raw_accept(struct __test_metadata *_metadata, struct estp_peer *p,
		       struct peer_conn *c, int proto, uint16_t port, uint16_t lport,
		       uint32_t isn, int rcvbuf, int *lfd, int *afd)
{
	struct sockaddr_in sin = estp_sin4(PEER_ADDR, lport);
	const char *err;

	*lfd = *afd = -1;
	err = peer_open(p, proto);
	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	*lfd = socket(AF_INET, SOCK_STREAM, proto);
	ASSERT_LE(0, *lfd);
	if (rcvbuf)
		ASSERT_EQ(0, setsockopt(*lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)));
	ASSERT_EQ(0, bind(*lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(*lfd, 1));
	ASSERT_EQ(0, peer_connect(p, c, port, lport, isn));
	*afd = accept(*lfd, NULL, NULL);
	ASSERT_LE(0, *afd);
}

FIXTURE_SETUP(wire)
{
	int one = 1;

	raw_accept(_metadata, &self->p, &self->c, variant->proto, R_PORT, R_LPORT, R_ISN, 0,
		   &self->lfd, &self->afd);
	/* Segments go at once; the test says what is urgent. */
	ASSERT_EQ(0, setsockopt(self->afd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one,
				sizeof(one)));
}

FIXTURE_TEARDOWN(wire)
{
	estp_close_abort(&self->afd);
	estp_close_abort(&self->lfd);
	peer_close(&self->p);
}

/*
 * A data segment of the raw peer at stream offset @off, with URG and
 * pointer @urg when @urg is not 0: 0 or -1.
 */
static int raw_data(FIXTURE_DATA(wire) *self, uint32_t off, const char *data, uint16_t urg)
{
	int len = strlen(data), hlen = PKT_HDR_LEN;
	uint8_t buf[PKT_HDR_LEN + 64];

	memset(buf, 0, sizeof(buf));
	pkt_put16(buf, self->c.port);
	pkt_put16(buf + 2, self->c.lport);
	pkt_put32(buf + 4, R_ISN + 1 + off);
	pkt_put32(buf + 8, self->c.ack);
	buf[12] = (hlen / 4) << 4;
	buf[13] = PKT_ACK | PKT_PSH | (urg ? PKT_URG : 0);
	pkt_put16(buf + 14, PEER_WIN);
	pkt_put16(buf + 18, urg);
	memcpy(buf + hlen, data, len);
	return peer_send_buf(&self->p, buf, hlen + len);
}

/*
 * The next data segment of the accepted side that starts at @seq, within
 * @ms (loss probes and resends of others pass by): its payload length, or
 * -1.
 */
static int data_at(FIXTURE_DATA(wire) *self, uint32_t seq, int ms, struct pkt_seg *s)
{
	long end = pkt_now_ms() + ms;

	while (pkt_now_ms() < end) {
		if (peer_recv(&self->p, &self->c, end - pkt_now_ms(), s) != 1)
			return -1;
		if (s->seg_len > s->hdr_len && s->seq == seq)
			return s->seg_len - s->hdr_len;
	}
	return -1;
}

/* The raw peer acknowledges up to @ack. */
static int raw_ack(FIXTURE_DATA(wire) *self, uint32_t ack)
{
	struct pkt_seg a = peer_seg(&self->c, PKT_ACK);

	a.ack = ack;
	return peer_send(&self->p, &a);
}

/*
 * What TCP sends: "ab", then "c" with MSG_OOB, the segment's pointer one
 * past the urgent byte (RFC 6093's Linux/BSD pointer); every segment
 * before that pointer carries it, a resend too, and none after;
 * the ACK of the urgent byte ends urgent mode.
 */
TEST_F(wire, urg_sent)
{
	uint32_t base = self->c.ack;	/* the accepted side's first byte */
	struct pkt_seg s;

	ASSERT_EQ(2, send(self->afd, "ab", 2, 0));
	ASSERT_EQ(2, data_at(self, base, ANSWER_MS, &s));
	EXPECT_EQ(0, s.flags & PKT_URG);
	EXPECT_EQ(0, s.urg);
	ASSERT_EQ(3, send(self->afd, "xyz", 3, MSG_OOB));
	ASSERT_EQ(3, data_at(self, base + 2, ANSWER_MS, &s));
	EXPECT_EQ(PKT_ACK | PKT_PSH | PKT_URG, s.flags);
	EXPECT_EQ(3, s.urg);
	/* At the urgent pointer and past it: no URG. */
	ASSERT_EQ(1, send(self->afd, "d", 1, 0));
	ASSERT_EQ(1, data_at(self, base + 5, ANSWER_MS, &s));
	EXPECT_EQ(0, s.flags & PKT_URG);
	EXPECT_EQ(0, s.urg);
	/* Nothing acked: the RTO's resend of the first still points there. */
	ASSERT_LE(2, data_at(self, base, 3 * ANSWER_MS, &s));
	EXPECT_EQ(PKT_URG, s.flags & PKT_URG);
	EXPECT_EQ(5, s.urg);
	/* All acked: urgent mode is over, new data has no URG. */
	ASSERT_EQ(0, raw_ack(self, base + 6));
	ASSERT_EQ(1, send(self->afd, "e", 1, 0));
	ASSERT_EQ(1, data_at(self, base + 6, ANSWER_MS, &s));
	EXPECT_EQ(0, s.flags & PKT_URG);
	EXPECT_EQ(0, s.urg);
}

/*
 * What TCP takes: "abc" with pointer 3 makes 'c' urgent; "de" with pointer
 * 5 points at offset 7, not yet received (SIGURG, but EAGAIN and no
 * EPOLLPRI); "fghij" brings it: 'h'.
 */
TEST_F(wire, urg_received)
{
	struct pkt_seg s;
	char buf[16];

	ASSERT_EQ(0, own_sigurg(self->afd));
	ASSERT_EQ(0, raw_data(self, 0, "abc", 3));
	ASSERT_EQ(POLLPRI, poll_for(self->afd, POLLPRI, ANSWER_MS));
	EXPECT_EQ(1, sigurg_count);
	EXPECT_EQ(0, at_mark(self->afd));
	ASSERT_EQ(2, recv_err(self->afd, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "ab", 2));
	EXPECT_EQ(1, at_mark(self->afd));
	EXPECT_EQ(1, recv_err(self->afd, buf, sizeof(buf), MSG_OOB));
	EXPECT_EQ('c', buf[0]);

	ASSERT_EQ(0, raw_data(self, 3, "de", 5));
	ASSERT_EQ(POLLIN, poll_for(self->afd, POLLIN, ANSWER_MS));
	EXPECT_EQ(2, sigurg_count);
	EXPECT_EQ(0, poll_for(self->afd, POLLPRI, 0));
	EXPECT_EQ(-EAGAIN, recv_err(self->afd, buf, sizeof(buf), MSG_OOB));
	ASSERT_EQ(2, recv_err(self->afd, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "de", 2));

	ASSERT_EQ(0, raw_data(self, 5, "fghij", 0));
	ASSERT_EQ(POLLPRI, poll_for(self->afd, POLLPRI, ANSWER_MS));
	EXPECT_EQ(2, sigurg_count);
	ASSERT_EQ(2, recv_err(self->afd, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "fg", 2));
	EXPECT_EQ(1, recv_err(self->afd, buf, sizeof(buf), MSG_OOB));
	EXPECT_EQ('h', buf[0]);
	ASSERT_EQ(2, recv_err(self->afd, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "ij", 2));
	/* An old pointer, into data read, is no news: the resend is ACKed. */
	peer_drain(&self->p);
	ASSERT_EQ(0, raw_data(self, 8, "ij", 1));
	do {
		ASSERT_EQ(1, peer_recv(&self->p, &self->c, ANSWER_MS, &s));
	} while (s.ack != R_ISN + 11);
	EXPECT_EQ(0, poll_for(self->afd, POLLPRI | POLLIN, 0));
	EXPECT_EQ(2, sigurg_count);
	EXPECT_EQ(-EINVAL, recv_err(self->afd, buf, sizeof(buf), MSG_OOB));
}

/* ---------------------------------------------------------------------- */
/*
 * Queue collapse under receive memory pressure: the raw peer sends 1-byte
 * segments to a socket that does not read, its SO_RCVBUF small.  Each
 * segment keeps a whole loopback buffer (the raw socket's copy of each
 * stays unread, so TCP cannot coalesce them either): the buffer is over
 * its size after a few, and TCP collapses its queues into compact skbs
 * (tcp_collapse, TCPRcvCollapsed) rather than drop.
 */

#define C_PORT		1300
#define C_LPORT		22600
#define C_ISN		0xfffffff0u	/* the sequence wraps in the stream */
#define C_RCVBUF	4096
#define C_SEGS		120

FIXTURE(collapse)
{
	struct estp_peer p;
	struct peer_conn c;
	int lfd, afd;
};

/* The raw peer of estp_peer.h speaks IPv4 only: IPv4 alone. */
FIXTURE_VARIANTS_TCP_ESTP(collapse);

FIXTURE_SETUP(collapse)
{
	raw_accept(_metadata, &self->p, &self->c, variant->proto, C_PORT, C_LPORT, C_ISN,
		   C_RCVBUF, &self->lfd, &self->afd);
}

FIXTURE_TEARDOWN(collapse)
{
	estp_close_abort(&self->afd);
	estp_close_abort(&self->lfd);
	peer_close(&self->p);
}

/* One byte of the stream at offset @off, as the raw peer of @c sends it. */
static int byte_seg(struct estp_peer *p, const struct peer_conn *c, uint32_t off)
{
	uint8_t buf[PKT_HDR_LEN + 1];

	memset(buf, 0, sizeof(buf));
	pkt_put16(buf, c->port);
	pkt_put16(buf + 2, c->lport);
	pkt_put32(buf + 4, C_ISN + 1 + off);
	pkt_put32(buf + 8, c->ack);
	buf[12] = (PKT_HDR_LEN / 4) << 4;
	buf[13] = PKT_ACK;
	pkt_put16(buf + 14, PEER_WIN);
	buf[PKT_HDR_LEN] = 'a' + off % 26;
	return peer_send_buf(p, buf, sizeof(buf));
}

/*
 * Sends the C_SEGS bytes, in order or (@ofo) the first last, and checks
 * that all were taken: their ACK, no segment dropped (RcvPruned,
 * OfoPruned), some collapsed, and the stream byte-exact.
 */
static void collapse_case(struct __test_metadata *_metadata, FIXTURE_DATA(collapse) *self,
			  int proto, bool ofo)
{
	long end = pkt_now_ms() + 4 * ANSWER_MS;
	char buf[C_SEGS + 1];
	int i, n = 0, r, rawbuf = 8 << 20;
	struct pkt_seg s;

	/*
	 * The raw socket keeps a copy of each segment and every ACK: room
	 * for all, or the last ACK could be dropped there.
	 */
	ASSERT_EQ(0, setsockopt(self->p.raw, SOL_SOCKET, SO_RCVBUFFORCE, &rawbuf,
				sizeof(rawbuf)));
	for (i = ofo ? 1 : 0; i < C_SEGS; i++)
		ASSERT_EQ(0, byte_seg(&self->p, &self->c, i));
	if (ofo)
		ASSERT_EQ(0, byte_seg(&self->p, &self->c, 0));
	/* Every byte acked (the last ACK may wait for the delayed-ACK timer). */
	do {
		r = peer_recv(&self->p, &self->c, end - pkt_now_ms(), &s);
	} while (r == 1 && s.ack != C_ISN + 1 + C_SEGS && pkt_now_ms() < end);
	EXPECT_EQ(C_ISN + 1 + C_SEGS, s.ack) TH_LOG("acked %u of %d", s.ack - C_ISN - 1, C_SEGS);
	TH_LOG("PruneCalled %ld RcvCollapsed %ld RcvPruned %ld OfoPruned %ld",
	       estp_counter(proto, "PruneCalled"), estp_counter(proto, "RcvCollapsed"),
	       estp_counter(proto, "RcvPruned"), estp_counter(proto, "OfoPruned"));
	EXPECT_LT(0, estp_counter(proto, "PruneCalled"));
	EXPECT_LT(0, estp_counter(proto, "RcvCollapsed"));
	EXPECT_EQ(0, estp_counter(proto, "RcvPruned"));
	EXPECT_EQ(0, estp_counter(proto, "OfoPruned"));
	while (n < C_SEGS && (r = recv_err(self->afd, buf + n, C_SEGS - n, MSG_DONTWAIT)) > 0)
		n += r;
	ASSERT_EQ(C_SEGS, n);
	for (i = 0; i < C_SEGS; i++)
		ASSERT_EQ('a' + i % 26, buf[i]) TH_LOG("byte %d", i);
}

TEST_F(collapse, in_order)
{
	collapse_case(_metadata, self, variant->proto, false);
}

TEST_F(collapse, out_of_order)
{
	collapse_case(_metadata, self, variant->proto, true);
}

ESTP_HARNESS_MAIN("oob_byte", "oobinline")
