// SPDX-License-Identifier: GPL-2.0
/*
 * Fast Open on the wire, against a scripted raw peer (estp_peer.h): the
 * SYN-ACK's cookie option byte for byte; data in a SYN with a valid cookie
 * acknowledged by the SYN-ACK, readable by accept()'s child before the
 * handshake ends, and the child sending before the final ACK; a bad cookie
 * answered with a fresh one and the ISN acknowledged alone; the fastopen
 * queue's limit; and every end of a child still in SYN_RECV (a RST before
 * and after accept(), SOCK_DESTROY, the SYN-ACK's retries, the listener's close, a SYN
 * again), each leaving the listener's fastopen queue as TCP's: a RST after
 * accept() keeps its place 60 s, every other end frees it at once, which
 * the next Fast Open SYN shows (a child, or FastOpenListenOverflow).  On
 * the client's side, a SYN-ACK that takes part of the SYN's data: the rest
 * is resent from where it stopped.  TCP
 * is the specification: each test runs for TCP and ESTP.  IPv4 only, as
 * the raw peer; estp_fastopen_test's fo_hold ends such children the same
 * ways on IPv4, IPv6 and v4-mapped IPv6 with real sockets.
 */
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "estp_peer.h"

#ifndef SOL_TCP
#define SOL_TCP		IPPROTO_TCP
#endif

#define FO_PORT		20400
#define FO_KIND		34
#define COOKIE_LEN	8
#define SEG_MAX		600

FIXTURE(fo)
{
	struct estp_peer p;
	int lfd;
	uint8_t cookie[COOKIE_LEN];	/* the listener's for the raw peer */
};

FIXTURE_VARIANTS_TCP_ESTP(fo);

/*
 * A SYN from @port with ISN @isn, an MSS option, a Fast Open option with
 * @clen bytes of @cookie (-1: no option, 0: a request) and @dlen bytes of
 * @data.  The answer's bytes go to @buf, parsed into @r: 1, 0 on timeout, -1.
 */
static int fo_syn(struct estp_peer *p, struct peer_conn *c, uint16_t port, uint32_t isn,
		  const uint8_t *cookie, int clen, const char *data, int dlen,
		  uint8_t *buf, size_t size, struct pkt_seg *r)
{
	uint8_t seg[SEG_MAX];
	int hlen = PKT_HDR_LEN + 4, olen = 0;
	ssize_t n;

	memset(c, 0, sizeof(*c));
	c->port = port;
	c->lport = FO_PORT;
	memset(seg, 0, sizeof(seg));
	if (clen >= 0) {
		olen = (2 + clen + 3) & ~3;
		seg[hlen] = FO_KIND;
		seg[hlen + 1] = 2 + clen;
		memcpy(seg + hlen + 2, cookie, clen);
		/* The padding: NOPs, as TCP puts them. */
		memset(seg + hlen + 2 + clen, 1, olen - 2 - clen);
	}
	hlen += olen;
	if (hlen + dlen > SEG_MAX)
		return -1;
	pkt_put16(seg, port);
	pkt_put16(seg + 2, FO_PORT);
	pkt_put32(seg + 4, isn);
	seg[12] = (hlen / 4) << 4;
	seg[13] = PKT_SYN;
	pkt_put16(seg + 14, PEER_WIN);
	seg[20] = 2;
	seg[21] = 4;
	pkt_put16(seg + 22, 1460);
	memcpy(seg + hlen, data, dlen);
	if (peer_send_buf(p, seg, hlen + dlen))
		return -1;
	c->seq = isn + 1 + dlen;
	n = pkt_recv_buf(p->raw, p->proto, FO_PORT, port, PEER_ANSWER_MS, buf, size, r);
	if (n > 0 && r->flags == (PKT_SYN | PKT_ACK))
		c->ack = r->seq + 1;
	return n > 0 ? 1 : (int)n;
}

/* The options of the segment in @buf (an IPv4 packet), and their length. */
static const uint8_t *fo_opts(const uint8_t *buf, int *len)
{
	const uint8_t *th = buf + (buf[0] & 0xf) * 4;

	*len = (th[12] >> 4) * 4 - PKT_HDR_LEN;
	return th + PKT_HDR_LEN;
}

/* The Fast Open option's cookie in @buf's segment: its length, -1 if none. */
static int fo_cookie_of(const uint8_t *buf, uint8_t *cookie)
{
	const uint8_t *o;
	int len, i;

	o = fo_opts(buf, &len);
	for (i = 0; i < len;) {
		if (o[i] == 0)
			break;
		if (o[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2 || i + o[i + 1] > len)
			break;
		if (o[i] == FO_KIND) {
			memcpy(cookie, o + i + 2, o[i + 1] - 2);
			return o[i + 1] - 2;
		}
		i += o[i + 1];
	}
	return -1;
}

/*
 * The next segment for @c that is not its SYN-ACK again: a child's SYN-ACK
 * timer (1 s) may fire first on a slow guest.  1, 0 on timeout, -1.
 */
static int fo_recv_after_synack(struct estp_peer *p, struct peer_conn *c, struct pkt_seg *r)
{
	int n;

	do
		n = peer_recv(p, c, PEER_ANSWER_MS, r);
	while (n == 1 && r->flags == (PKT_SYN | PKT_ACK));
	return n;
}

static void fo_rst(struct estp_peer *p, const struct peer_conn *c)
{
	struct pkt_seg s = peer_seg(c, PKT_RST);

	peer_send(p, &s);
}

/* net.ipv4.tcp_fastopen or net.estp.fastopen, in the peer's netns: 0 or -1. */
static int fo_sysctl_set(int proto, const char *val)
{
	return peer_sysctl(proto == IPPROTO_TCP ? "/proc/sys/net/ipv4/tcp_fastopen" :
			   "/proc/sys/net/estp/fastopen", NULL, 0, val);
}

FIXTURE_SETUP(fo)
{
	const uint8_t *opts;
	uint8_t buf[1500];
	struct peer_conn c;
	struct pkt_seg r;
	const char *err;
	int olen;

	err = peer_open(&self->p, variant->proto);
	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	ASSERT_EQ(0, fo_sysctl_set(variant->proto, "3"));
	self->lfd = estp_listen_fam(variant->proto, ESTP_FAM4, PEER_ADDR, FO_PORT, 16);
	ASSERT_LE(0, self->lfd);
	/* The queue holds one child in its handshake, to show it freed. */
	ASSERT_EQ(0, setsockopt(self->lfd, SOL_TCP, TCP_FASTOPEN, &(int){ 1 }, sizeof(int)));

	/*
	 * A cookie request: the SYN-ACK answers with the cookie in the
	 * option's last place, padded with two NOPs (tcp_options_write()).
	 */
	ASSERT_EQ(1, fo_syn(&self->p, &c, 1100, 1000, NULL, 0, NULL, 0, buf, sizeof(buf), &r));
	ASSERT_EQ(PKT_SYN | PKT_ACK, r.flags);
	EXPECT_EQ(1001U, r.ack);
	opts = fo_opts(buf, &olen);
	ASSERT_EQ(4 + 12, olen);
	EXPECT_EQ(2, opts[0]);
	EXPECT_EQ(4, opts[1]);
	EXPECT_EQ(FO_KIND, opts[4]);
	EXPECT_EQ(2 + COOKIE_LEN, opts[5]);
	EXPECT_EQ(1, opts[14]);
	EXPECT_EQ(1, opts[15]);
	ASSERT_EQ(COOKIE_LEN, fo_cookie_of(buf, self->cookie));
	EXPECT_EQ(1, estp_counter(variant->proto, "FastOpenCookieReqd"));
	fo_rst(&self->p, &c);
}

FIXTURE_TEARDOWN(fo)
{
	if (self->lfd >= 0)
		close(self->lfd);
	peer_close(&self->p);
}

/* The state TCP_INFO gives for @fd. */
static int fo_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len))
		return -1;
	return ti.tcpi_state;
}

/*
 * A Fast Open SYN from @port with the good cookie and @dlen bytes: its
 * SYN-ACK in @r.  1 when the SYN-ACK acknowledged the data.
 */
static int fo_open(FIXTURE_DATA(fo) *self, struct peer_conn *c, uint16_t port, int dlen,
		   struct pkt_seg *r)
{
	char data[256];
	uint8_t buf[1500];

	memset(data, 'a' + port % 26, sizeof(data));
	if (fo_syn(&self->p, c, port, 5000, self->cookie, COOKIE_LEN, data, dlen,
		   buf, sizeof(buf), r) != 1 || r->flags != (PKT_SYN | PKT_ACK))
		return -1;
	return r->ack == 5001U + dlen;
}

/*
 * Data in the SYN with a valid cookie: acknowledged by the SYN-ACK, read
 * from accept()'s child in SYN_RECV, which sends before the final ACK.
 */
TEST_F(fo, data_before_final_ack)
{
	char buf[256], want[100];
	struct peer_conn c;
	struct pkt_seg r;
	int afd;

	ASSERT_EQ(1, fo_open(self, &c, 1200, 100, &r));
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	EXPECT_EQ(TCP_SYN_RECV, fo_state(afd));
	memset(want, 'a' + 1200 % 26, sizeof(want));
	ASSERT_EQ(100, recv(afd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(buf, want, sizeof(want)));
	EXPECT_EQ(1, estp_counter(variant->proto, "FastOpenPassive"));

	ASSERT_EQ(5, send(afd, "early", 5, 0));
	ASSERT_EQ(1, fo_recv_after_synack(&self->p, &c, &r));
	EXPECT_EQ(c.ack, r.seq);
	EXPECT_EQ(PKT_HDR_LEN + 5, r.seg_len);
	EXPECT_EQ(c.seq, r.ack);

	/* The final ACK, of the SYN-ACK and the data: ESTABLISHED. */
	c.ack += 5;
	ASSERT_EQ(0, peer_ack(&self->p, &c));
	ASSERT_EQ(1, peer_wait_rows(variant->proto, FO_PORT, 1200, PEER_ST_ESTABLISHED, 1,
				    PEER_ANSWER_MS));
	EXPECT_EQ(TCP_ESTABLISHED, fo_state(afd));
	/* Not left an orphan retrying its FIN, which would pin the module. */
	close(afd);
	fo_rst(&self->p, &c);
	ASSERT_EQ(0, peer_wait_rows(variant->proto, FO_PORT, 1200, -1, 0, PEER_ANSWER_MS));
}

/* A cookie no key made: the ISN alone is acked, with a fresh cookie. */
TEST_F(fo, bad_cookie)
{
	uint8_t buf[1500], got[16], bad[COOKIE_LEN];
	struct peer_conn c;
	struct pkt_seg r;

	memcpy(bad, self->cookie, COOKIE_LEN);
	bad[0] ^= 0xff;
	ASSERT_EQ(1, fo_syn(&self->p, &c, 1300, 7000, bad, COOKIE_LEN, "xyz", 3,
			    buf, sizeof(buf), &r));
	ASSERT_EQ(PKT_SYN | PKT_ACK, r.flags);
	EXPECT_EQ(7001U, r.ack);
	ASSERT_EQ(COOKIE_LEN, fo_cookie_of(buf, got));
	EXPECT_EQ(0, memcmp(got, self->cookie, COOKIE_LEN));
	EXPECT_EQ(1, estp_counter(variant->proto, "FastOpenPassiveFail"));
	EXPECT_EQ(0, estp_counter(variant->proto, "FastOpenPassive"));
	/* No child before the handshake. */
	ASSERT_EQ(0, fcntl(self->lfd, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(-1, accept(self->lfd, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	fo_rst(&self->p, &c);
}

/*
 * The queue holds one child in its handshake: a second Fast Open SYN gets
 * the normal handshake (its data not acked) and ListenOverflow counts.
 */
TEST_F(fo, queue_overflow)
{
	struct peer_conn a, b;
	struct pkt_seg r;

	ASSERT_EQ(1, fo_open(self, &a, 1400, 10, &r));
	ASSERT_EQ(0, fo_open(self, &b, 1401, 10, &r));
	EXPECT_EQ(1, estp_counter(variant->proto, "FastOpenListenOverflow"));
	EXPECT_EQ(1, estp_counter(variant->proto, "FastOpenPassive"));
	/* A request sock: its RST is at the ISN + 1, the data not taken. */
	b.seq = 5001;
	fo_rst(&self->p, &b);
}

/*
 * A RST ends the child before accept(): the queue's place is free at once.
 * After accept() it stays 60 s against spoofed SYNs.
 */
TEST_F(fo, rst_before_and_after_accept)
{
	struct peer_conn a, b, d;
	struct pkt_seg r;
	char ch;
	int afd;

	ASSERT_EQ(1, fo_open(self, &a, 1500, 10, &r));
	fo_rst(&self->p, &a);
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	EXPECT_EQ(TCP_CLOSE, fo_state(afd));
	ASSERT_EQ(1, fo_open(self, &b, 1501, 10, &r));
	close(afd);

	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	fo_rst(&self->p, &b);
	while (recv(afd, &ch, 1, 0) > 0)
		;
	EXPECT_EQ(ECONNRESET, errno);
	EXPECT_EQ(0, fo_open(self, &d, 1502, 10, &r));
	EXPECT_EQ(1, estp_counter(variant->proto, "FastOpenListenOverflow"));
	EXPECT_EQ(2, estp_counter(variant->proto, "FastOpenPassive"));
	d.seq = 5001;
	fo_rst(&self->p, &d);
	close(afd);
}

/*
 * The SYN-ACK's retries (TCP_SYNCNT 1 on the listener, inherited: one
 * resend) run out: the child ends ETIMEDOUT and its place is free.
 */
TEST_F(fo, synack_timeout)
{
	struct peer_conn a, b;
	struct pkt_seg r;
	char ch;
	int afd;

	ASSERT_EQ(0, setsockopt(self->lfd, SOL_TCP, TCP_SYNCNT, &(int){ 1 }, sizeof(int)));
	ASSERT_EQ(1, fo_open(self, &a, 1600, 10, &r));
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	/* The one resend, a second after the first. */
	ASSERT_EQ(1, peer_recv(&self->p, &a, 3000, &r));
	EXPECT_EQ(PKT_SYN | PKT_ACK, r.flags);
	EXPECT_EQ(5011U, r.ack);
	ASSERT_EQ(10, recv(afd, (char[16]){ 0 }, 16, 0));
	EXPECT_EQ(-1, recv(afd, &ch, 1, 0));
	EXPECT_EQ(ETIMEDOUT, errno);
	EXPECT_EQ(1, estp_counter(variant->proto, "AbortOnTimeout"));
	ASSERT_EQ(1, fo_open(self, &b, 1601, 10, &r));
	fo_rst(&self->p, &b);
	close(afd);
}

/*
 * SOCK_DESTROY of an accepted Fast Open child still in SYN_RECV
 * (estp_abort(), TCP's tcp_abort()): the peer gets a RST, the owner
 * ECONNABORTED, and the child's request sock leaves the fastopen queue,
 * whose one place takes the next child.
 */
TEST_F(fo, abort_in_syn_recv)
{
	struct peer_conn a, b;
	struct pkt_seg r;
	char buf[64];
	int afd, ret;

	ASSERT_EQ(1, fo_open(self, &a, 1600, 10, &r));
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	EXPECT_EQ(TCP_SYN_RECV, fo_state(afd));
	ret = peer_sock_destroy(variant->proto, FO_PORT, 1600, peer_sock_cookie(afd));
	if (ret == -EOPNOTSUPP && variant->proto == IPPROTO_TCP) {
		close(afd);
		SKIP(return, "no SOCK_DESTROY for TCP: kernel without CONFIG_INET_DIAG_DESTROY");
	}
	ASSERT_EQ(0, ret);
	ASSERT_EQ(1, fo_recv_after_synack(&self->p, &a, &r));
	EXPECT_EQ(PKT_RST, r.flags & PKT_RST);
	/* The SYN's data stays readable; then the error. */
	EXPECT_EQ(10, recv(afd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(-1, recv(afd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(ECONNABORTED, errno);
	EXPECT_EQ(TCP_CLOSE, fo_state(afd));
	EXPECT_EQ(0, peer_rows(variant->proto, FO_PORT, 1600, -1, NULL));
	close(afd);

	ASSERT_EQ(1, fo_open(self, &b, 1601, 10, &r));
	EXPECT_EQ(0, estp_counter(variant->proto, "FastOpenListenOverflow"));
	EXPECT_EQ(2, estp_counter(variant->proto, "FastOpenPassive"));
	fo_rst(&self->p, &b);
}

/* The listener closes with a child in its handshake: the peer is reset. */
TEST_F(fo, listener_close)
{
	struct peer_conn a;
	struct pkt_seg r;

	ASSERT_EQ(1, fo_open(self, &a, 1700, 10, &r));
	close(self->lfd);
	self->lfd = -1;
	ASSERT_EQ(1, fo_recv_after_synack(&self->p, &a, &r));
	EXPECT_EQ(PKT_RST, r.flags & PKT_RST);
	EXPECT_EQ(0, peer_rows(variant->proto, FO_PORT, 1700, -1, NULL));
}

/* The SYN again: the child sends its SYN-ACK again, the data acked. */
TEST_F(fo, syn_again)
{
	uint8_t buf[1500];
	struct peer_conn a, b;
	struct pkt_seg r;

	ASSERT_EQ(1, fo_open(self, &a, 1800, 10, &r));
	ASSERT_EQ(1, fo_syn(&self->p, &b, 1800, 5000, self->cookie, COOKIE_LEN, "0123456789",
			    10, buf, sizeof(buf), &r));
	EXPECT_EQ(PKT_SYN | PKT_ACK, r.flags);
	EXPECT_EQ(5011U, r.ack);
	EXPECT_EQ(a.ack - 1, r.seq);
	EXPECT_EQ(1, estp_counter(variant->proto, "FastOpenPassive"));
	fo_rst(&self->p, &a);
}

/*
 * The client's side, the raw peer its server: a Fast Open SYN with 1000
 * bytes (net.*.fastopen 7, no cookie needed) answered by a SYN-ACK that
 * takes only the first 300.  The connection is established with snd_una
 * past them, and the rest goes again at once, from byte 300 and not from
 * the first (tcp_rcv_fastopen_synack(), tcp_trim_head()), counted in
 * FastOpenActiveFail.  A SYN sent again on a slow guest carries no data
 * and is passed over.
 */
TEST_F(fo, client_partial_syn_data_ack)
{
	struct sockaddr_in sin = estp_sin4(PEER_ADDR, 1900);
	uint8_t buf[1500], data[1000];
	struct peer_conn c = { .port = 1900, .seq = 7000 };
	struct pkt_seg r, s;
	uint32_t isn;
	int cfd, n;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = i % 251;
	ASSERT_EQ(0, fo_sysctl_set(variant->proto, "7"));
	cfd = estp_socket(variant->proto, ESTP_FAM4);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(1000, sendto(cfd, data, sizeof(data), MSG_FASTOPEN | MSG_DONTWAIT,
			       (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("sendto(MSG_FASTOPEN): %s", strerror(errno));
	c.lport = estp_local_port(cfd);
	n = pkt_recv_buf(self->p.raw, variant->proto, c.lport, c.port, PEER_ANSWER_MS, buf,
			 sizeof(buf), &r);
	ASSERT_LT(0, n) TH_LOG("no SYN");
	ASSERT_EQ(PKT_SYN, r.flags);
	ASSERT_EQ(1000, r.seg_len - r.hdr_len) TH_LOG("the SYN carries no data");
	isn = r.seq;

	/* The SYN-ACK: the SYN and 300 bytes of its data. */
	c.ack = isn + 1 + 300;
	s = peer_seg(&c, PKT_SYN | PKT_ACK);
	s.mss = 1460;
	ASSERT_EQ(0, peer_send(&self->p, &s));
	c.seq++;
	do
		n = pkt_recv_buf(self->p.raw, variant->proto, c.lport, c.port, PEER_ANSWER_MS,
				 buf, sizeof(buf), &r);
	while (n > 0 && ((r.flags & PKT_SYN) || r.seg_len == r.hdr_len));
	ASSERT_LT(0, n) TH_LOG("the data not sent again");
	EXPECT_EQ(isn + 1 + 300, r.seq) TH_LOG("resent from %u", r.seq - isn - 1);
	EXPECT_EQ(700, r.seg_len - r.hdr_len);
	EXPECT_EQ(c.seq, r.ack);
	if (r.seg_len - r.hdr_len == 700)
		EXPECT_EQ(0, memcmp(buf + (buf[0] & 0xf) * 4 + r.hdr_len, data + 300, 700));
	EXPECT_EQ(1, estp_counter(variant->proto, "FastOpenActiveFail"));
	EXPECT_EQ(TCP_ESTABLISHED, fo_state(cfd));

	/* All of it acknowledged: nothing more is sent. */
	c.ack = isn + 1 + 1000;
	ASSERT_EQ(0, peer_ack(&self->p, &c));
	EXPECT_EQ(0, pkt_recv_buf(self->p.raw, variant->proto, c.lport, c.port, 500, buf,
				  sizeof(buf), &r)) TH_LOG("flags %#x seq %u", r.flags, r.seq);
	estp_close_abort(&cfd);
}

TEST_HARNESS_MAIN
