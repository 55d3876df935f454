// SPDX-License-Identifier: GPL-2.0
/*
 * TCP_INFO and TCP_CC_INFO: getsockopt() answers with struct tcp_info as
 * the running kernel's TCP lays it out, filled with TCP's meaning, and
 * honours the caller's length as do_tcp_getsockopt() does.  Every TEST_F
 * runs for TCP and ESTP as fixture variants and asserts what TCP gives;
 * the estp variant of "transfer" also runs the same exchange over TCP and
 * compares the two field by field where the exchange makes a field
 * deterministic.  "rto" scripts the peer (estp_peer.h) so that a segment
 * is lost for both protocols alike.
 */
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <linux/tcp.h>

#include "kselftest_harness.h"
#include "estp_peer.h"

#ifndef SOL_TCP
#define SOL_TCP		IPPROTO_TCP
#endif

/*
 * struct tcp_info of the newest kernel of the matrix: the host's header
 * has 6.1's fields (232 bytes); 6.2 to 6.7 appended rcv_wnd, rehash and
 * the total_rto fields (248 bytes), 6.18 AccECN's (280 bytes).  The
 * kernel answers with as much as it has.
 */
struct ti {
	struct tcp_info b;
	uint32_t rcv_wnd;
	uint32_t rehash;
	uint16_t total_rto;
	uint16_t total_rto_recoveries;
	uint32_t total_rto_time;
	uint32_t received_ce;
	uint32_t accecn_bytes[6];
	uint32_t ecn_bits;
};

_Static_assert(offsetof(struct ti, rcv_wnd) == 232, "host tcp_info is not 6.1's");
_Static_assert(sizeof(struct ti) == 280, "tcp_info layout");

#define TI_LEN_612	248	/* through tcpi_total_rto_time */

#define TCP_ST_ESTABLISHED	1
#define TCP_ST_LISTEN		10
#define CA_LOSS			4
#define INFINITE_SSTHRESH	0x7fffffff
/* The sizes the exchange sends: one segment each on lo. */
#define CLI_BYTES	10000
#define SRV_BYTES	5000

/* TCP_INFO of @fd into *@t (zeroed first): the length the kernel gave, or -errno. */
static int get_info(int fd, int level, struct ti *t)
{
	socklen_t len = sizeof(*t);

	memset(t, 0, sizeof(*t));
	if (getsockopt(fd, level, TCP_INFO, t, &len))
		return -errno;
	return len;
}

/* The length of TCP_INFO the running kernel's TCP gives. */
static int tcp_info_len(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	struct ti t;
	int len;

	if (fd < 0)
		return -1;
	len = get_info(fd, SOL_TCP, &t);
	close(fd);
	return len;
}

/* Polls TCP_INFO of @fd until nothing is unacknowledged or unsent, 5 s at most. */
static int wait_acked(int fd, struct ti *t)
{
	long end = pkt_now_ms() + 5000;

	do {
		if (get_info(fd, SOL_TCP, t) < 0)
			return -1;
		if (!t->b.tcpi_unacked && !t->b.tcpi_notsent_bytes)
			return 0;
		poll(NULL, 0, 1);
	} while (pkt_now_ms() < end);
	return -1;
}

static int read_all(int fd, char *buf, int len)
{
	int got = 0, n;

	while (got < len) {
		n = recv(fd, buf + got, len - got, 0);
		if (n <= 0)
			return -1;
		got += n;
	}
	return got;
}

/*
 * The exchange: a client connects over lo, sends CLI_BYTES in one write,
 * the server reads them and answers SRV_BYTES, which the client reads;
 * then both wait until all is acknowledged and read their TCP_INFO.
 */
struct exchange {
	struct ti cli, srv;
	int len;
};

static int run_exchange(int proto, struct exchange *x)
{
	static char buf[CLI_BYTES];
	struct sockaddr_in sin = estp_sin4("127.0.0.1", 0);
	socklen_t slen = sizeof(sin);
	int lfd, cfd = -1, afd = -1, one = 1, ret = -1;

	lfd = socket(AF_INET, SOCK_STREAM, proto);
	if (lfd < 0)
		return -1;
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 4) ||
	    getsockname(lfd, (struct sockaddr *)&sin, &slen))
		goto out;
	cfd = socket(AF_INET, SOCK_STREAM, proto);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&sin, sizeof(sin)))
		goto out;
	afd = accept(lfd, NULL, NULL);
	if (afd < 0)
		goto out;
	setsockopt(cfd, SOL_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(afd, SOL_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(buf, 'c', sizeof(buf));
	if (send(cfd, buf, CLI_BYTES, 0) != CLI_BYTES || read_all(afd, buf, CLI_BYTES) < 0)
		goto out;
	if (send(afd, buf, SRV_BYTES, 0) != SRV_BYTES || read_all(cfd, buf, SRV_BYTES) < 0)
		goto out;
	if (wait_acked(cfd, &x->cli) || wait_acked(afd, &x->srv))
		goto out;
	x->len = get_info(cfd, SOL_TCP, &x->cli);
	if (get_info(afd, SOL_TCP, &x->srv) == x->len)
		ret = 0;
out:
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	close(lfd);
	return ret;
}

FIXTURE(info)
{
	int fd;
};

FIXTURE_VARIANTS_TCP_ESTP(info);

FIXTURE_SETUP(info)
{
	self->fd = -1;
}

FIXTURE_TEARDOWN(info)
{
	estp_close_abort(&self->fd);
}

/* A fresh socket: CLOSE, TCP's defaults, no RTT sample, the kernel's size. */
TEST_F(info, fresh)
{
	struct ti t;
	int len;

	self->fd = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, self->fd);
	len = get_info(self->fd, SOL_TCP, &t);
	ASSERT_EQ(tcp_info_len(), len);
	ASSERT_LE(232, len);
	EXPECT_EQ(7, t.b.tcpi_state);		/* TCP_CLOSE */
	EXPECT_EQ(0, t.b.tcpi_options);
	EXPECT_EQ(10U, t.b.tcpi_snd_cwnd);
	EXPECT_EQ((unsigned int)(INFINITE_SSTHRESH), t.b.tcpi_snd_ssthresh);
	EXPECT_EQ(3U, t.b.tcpi_reordering);
	EXPECT_EQ(0U, t.b.tcpi_rtt);
	EXPECT_EQ(~0U, t.b.tcpi_min_rtt);	/* no sample yet */
	EXPECT_EQ(~0ULL, t.b.tcpi_pacing_rate);
	EXPECT_EQ(~0ULL, t.b.tcpi_max_pacing_rate);
	EXPECT_EQ(0U, t.b.tcpi_bytes_acked);
	EXPECT_EQ(0U, t.b.tcpi_segs_out);
	EXPECT_EQ(0U, t.b.tcpi_total_retrans);
	if (variant->proto == IPPROTO_ESTP) {
		struct ti t2;

		/* SOL_ESTP answers the same, but for the times, still running. */
		ASSERT_EQ(len, get_info(self->fd, SOL_ESTP, &t2));
		t.b.tcpi_last_data_sent = t2.b.tcpi_last_data_sent;
		t.b.tcpi_last_data_recv = t2.b.tcpi_last_data_recv;
		t.b.tcpi_last_ack_recv = t2.b.tcpi_last_ack_recv;
		EXPECT_EQ(0, memcmp(&t, &t2, len));
	}
}

/*
 * A listener: tcpi_unacked is its accept queue's length, tcpi_sacked its
 * backlog, as TCP aliases them.
 */
TEST_F(info, listener)
{
	struct sockaddr_in sin = estp_sin4("127.0.0.1", 0);
	socklen_t slen = sizeof(sin);
	int c1, c2, i;
	struct ti t;

	self->fd = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, bind(self->fd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(self->fd, 7));
	ASSERT_EQ(0, getsockname(self->fd, (struct sockaddr *)&sin, &slen));
	ASSERT_LT(0, get_info(self->fd, SOL_TCP, &t));
	EXPECT_EQ(TCP_ST_LISTEN, t.b.tcpi_state);
	EXPECT_EQ(0U, t.b.tcpi_unacked);
	EXPECT_EQ(7U, t.b.tcpi_sacked);
	EXPECT_EQ(10U, t.b.tcpi_snd_cwnd);
	EXPECT_EQ(3U, t.b.tcpi_reordering);
	EXPECT_EQ(~0ULL, t.b.tcpi_pacing_rate);

	c1 = socket(AF_INET, SOCK_STREAM, variant->proto);
	c2 = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_EQ(0, connect(c1, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, connect(c2, (struct sockaddr *)&sin, sizeof(sin)));
	/* The final ACKs may still be on their way to the listener. */
	for (i = 0; i < 5000; i++) {
		ASSERT_LT(0, get_info(self->fd, SOL_TCP, &t));
		if (t.b.tcpi_unacked == 2)
			break;
		poll(NULL, 0, 1);
	}
	EXPECT_EQ(2U, t.b.tcpi_unacked);
	EXPECT_EQ(7U, t.b.tcpi_sacked);
	close(accept(self->fd, NULL, NULL));
	ASSERT_LT(0, get_info(self->fd, SOL_TCP, &t));
	EXPECT_EQ(1U, t.b.tcpi_unacked);
	close(c1);
	close(c2);
}

/* The exchange's values that TCP's semantics fix, for either protocol. */
static void check_exchange(struct __test_metadata *_metadata, const struct exchange *x)
{
	const struct tcp_info *c = &x->cli.b, *s = &x->srv.b;
	const unsigned int opts = TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE;

	EXPECT_EQ(TCP_ST_ESTABLISHED, c->tcpi_state);
	EXPECT_EQ(TCP_ST_ESTABLISHED, s->tcpi_state);
	EXPECT_EQ(0, c->tcpi_ca_state);
	EXPECT_EQ(opts, c->tcpi_options);	/* net.*.ecn 2: not asked */
	EXPECT_EQ(opts, s->tcpi_options);
	EXPECT_NE(0, (int)c->tcpi_rcv_wscale);
	EXPECT_EQ((int)c->tcpi_snd_wscale, (int)s->tcpi_rcv_wscale);
	EXPECT_EQ((int)c->tcpi_rcv_wscale, (int)s->tcpi_snd_wscale);
	/*
	 * lo: MTU 65536, IPv4's 65535 cap, 40 bytes of headers, 12 of
	 * timestamps; the MSS in use is held to half the peer's largest
	 * window (tcp_bound_to_half_wnd).
	 */
	EXPECT_GE(65483U, c->tcpi_snd_mss);
	EXPECT_GE(65483U, s->tcpi_snd_mss);
	/* The largest window is at least the current one. */
	EXPECT_LE(c->tcpi_snd_wnd / 2 < 65483 ? c->tcpi_snd_wnd / 2 : 65483U, c->tcpi_snd_mss);
	EXPECT_LE(s->tcpi_snd_wnd / 2 < 65483 ? s->tcpi_snd_wnd / 2 : 65483U, s->tcpi_snd_mss);
	EXPECT_EQ(65483U, c->tcpi_advmss);
	EXPECT_EQ(65483U, s->tcpi_advmss);
	EXPECT_EQ(65535U, c->tcpi_pmtu);	/* IP_MAX_MTU */
	EXPECT_LT(0U, c->tcpi_rtt);
	EXPECT_LT(0U, s->tcpi_rtt);
	EXPECT_LT(0U, c->tcpi_min_rtt);
	EXPECT_NE(~0U, c->tcpi_min_rtt);
	EXPECT_GE(c->tcpi_rtt + c->tcpi_rttvar * 4 + 1000, c->tcpi_min_rtt);
	EXPECT_LE(200000U, c->tcpi_rto);
	EXPECT_EQ(10U, c->tcpi_snd_cwnd);
	EXPECT_EQ((unsigned int)(INFINITE_SSTHRESH), c->tcpi_snd_ssthresh);
	EXPECT_EQ(0U, c->tcpi_unacked);
	EXPECT_EQ(0U, c->tcpi_sacked);
	EXPECT_EQ(0U, c->tcpi_lost);
	EXPECT_EQ(0U, c->tcpi_retrans);
	EXPECT_EQ(0, c->tcpi_retransmits);
	EXPECT_EQ(0U, c->tcpi_total_retrans);
	EXPECT_EQ(0U, s->tcpi_total_retrans);
	EXPECT_EQ(0U, c->tcpi_bytes_retrans);
	EXPECT_EQ(0U, c->tcpi_rcv_ooopack);
	/* The SYN counts in snd_una's advance; rcv_nxt's starts after the SYN. */
	EXPECT_EQ((unsigned int)(CLI_BYTES + 1), c->tcpi_bytes_acked);
	EXPECT_EQ((unsigned int)(SRV_BYTES), s->tcpi_bytes_acked);
	EXPECT_EQ((unsigned int)(SRV_BYTES), c->tcpi_bytes_received);
	EXPECT_EQ((unsigned int)(CLI_BYTES), s->tcpi_bytes_received);
	EXPECT_EQ((unsigned int)(CLI_BYTES), c->tcpi_bytes_sent);
	EXPECT_EQ((unsigned int)(SRV_BYTES), s->tcpi_bytes_sent);
	EXPECT_EQ(1U, c->tcpi_data_segs_out);
	EXPECT_EQ(1U, c->tcpi_data_segs_in);
	EXPECT_EQ(1U, s->tcpi_data_segs_out);
	EXPECT_EQ(1U, s->tcpi_data_segs_in);
	/* The SYN or SYN-ACK and the data segment. */
	EXPECT_EQ(2U, c->tcpi_delivered);
	EXPECT_EQ(2U, s->tcpi_delivered);
	/* Each side's segments are the other's, less the SYN-ACK the request sent. */
	EXPECT_EQ(c->tcpi_segs_out, s->tcpi_segs_in);
	EXPECT_EQ(s->tcpi_segs_out + 1, c->tcpi_segs_in);
	EXPECT_EQ(0U, c->tcpi_notsent_bytes);
	EXPECT_LT(0U, c->tcpi_snd_wnd);
	EXPECT_LT(0U, c->tcpi_rcv_space);
	EXPECT_LT(0U, c->tcpi_rcv_ssthresh);
	EXPECT_GT(60000U, c->tcpi_last_ack_recv);
	EXPECT_GT(60000U, c->tcpi_last_data_sent);
	EXPECT_GT(60000U, c->tcpi_last_data_recv);
	if (x->len >= TI_LEN_612) {
		EXPECT_LT(0U, x->cli.rcv_wnd);
		EXPECT_EQ(0, x->cli.total_rto);
		EXPECT_EQ(0U, x->cli.total_rto_time);
	}
}

/* TCP_INFO after a known exchange; ESTP's compared with TCP's. */
TEST_F(info, transfer)
{
	struct exchange x, tx;

	ASSERT_EQ(0, run_exchange(variant->proto, &x));
	ASSERT_EQ(tcp_info_len(), x.len);
	check_exchange(_metadata, &x);
	if (variant->proto != IPPROTO_ESTP)
		return;
	ASSERT_EQ(0, run_exchange(IPPROTO_TCP, &tx));
#define SAME(f) do {							\
		long long tc = tx.cli.b.f, ts = tx.srv.b.f;			\
									\
		EXPECT_EQ(tc, (long long)x.cli.b.f) TH_LOG("client " #f);	\
		EXPECT_EQ(ts, (long long)x.srv.b.f) TH_LOG("server " #f);	\
	} while (0)
	SAME(tcpi_state);
	SAME(tcpi_ca_state);
	SAME(tcpi_retransmits);
	SAME(tcpi_probes);
	SAME(tcpi_backoff);
	SAME(tcpi_options);
	SAME(tcpi_snd_wscale);
	SAME(tcpi_rcv_wscale);
	SAME(tcpi_rcv_mss);
	SAME(tcpi_advmss);
	SAME(tcpi_pmtu);
	SAME(tcpi_unacked);
	SAME(tcpi_sacked);
	SAME(tcpi_lost);
	SAME(tcpi_retrans);
	SAME(tcpi_snd_ssthresh);
	SAME(tcpi_snd_cwnd);
	SAME(tcpi_reordering);
	SAME(tcpi_total_retrans);
	SAME(tcpi_bytes_acked);
	SAME(tcpi_bytes_received);
	SAME(tcpi_bytes_sent);
	SAME(tcpi_bytes_retrans);
	SAME(tcpi_segs_out);
	SAME(tcpi_segs_in);
	SAME(tcpi_data_segs_out);
	SAME(tcpi_data_segs_in);
	SAME(tcpi_delivered);
	SAME(tcpi_notsent_bytes);
	SAME(tcpi_rcv_ooopack);
	/*
	 * Not compared: the windows (tcpi_snd_wnd, tcpi_rcv_wnd,
	 * tcpi_rcv_ssthresh), which ESTP grows otherwise than TCP's
	 * tcp_grow_window(), and tcpi_snd_mss, held to half the peer's
	 * window; check_exchange() checks how each follows from them.
	 */
	SAME(tcpi_dsack_dups);
	SAME(tcpi_reord_seen);
#undef SAME
	if (x.len >= TI_LEN_612) {
		EXPECT_EQ(tx.cli.total_rto, x.cli.total_rto);
		EXPECT_EQ(tx.cli.total_rto_recoveries, x.cli.total_rto_recoveries);
	}
}

/*
 * The caller's length, as do_tcp_getsockopt(): a short one gets exactly
 * that many bytes, 0 none, a long one the kernel's size, a negative one
 * EINVAL; TCP_CC_INFO gives 0 bytes for algorithms with no get_info.
 */
TEST_F(info, length)
{
	unsigned char buf[sizeof(struct ti) + 64], full[sizeof(struct ti) + 64];
	socklen_t len;
	int i, kernel_len = tcp_info_len();

	self->fd = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, self->fd);
	len = sizeof(full);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_TCP, TCP_INFO, full, &len));
	ASSERT_EQ((socklen_t)kernel_len, len);

	memset(buf, 0xa5, sizeof(buf));
	len = 8;
	ASSERT_EQ(0, getsockopt(self->fd, SOL_TCP, TCP_INFO, buf, &len));
	EXPECT_EQ(8U, len);
	EXPECT_EQ(0, memcmp(buf, full, 8));
	for (i = 8; i < (int)sizeof(buf); i++)
		if (buf[i] != 0xa5)
			break;
	EXPECT_EQ((int)sizeof(buf), i);

	memset(buf, 0xa5, sizeof(buf));
	len = 0;
	ASSERT_EQ(0, getsockopt(self->fd, SOL_TCP, TCP_INFO, buf, &len));
	EXPECT_EQ(0U, len);
	EXPECT_EQ(0xa5, buf[0]);

	len = (socklen_t)-1;
	EXPECT_EQ(-1, getsockopt(self->fd, SOL_TCP, TCP_INFO, buf, &len));
	EXPECT_EQ(EINVAL, errno);

	/* Cubic, the default, has no get_info: nothing to give. */
	memset(buf, 0xa5, sizeof(buf));
	len = sizeof(buf);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_TCP, TCP_CC_INFO, buf, &len));
	EXPECT_EQ(0U, len);
	EXPECT_EQ(0xa5, buf[0]);
	ASSERT_EQ(0, setsockopt(self->fd, SOL_TCP, TCP_CONGESTION, "reno", 4));
	len = sizeof(buf);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_TCP, TCP_CC_INFO, buf, &len));
	EXPECT_EQ(0U, len);
	len = (socklen_t)-1;
	EXPECT_EQ(-1, getsockopt(self->fd, SOL_TCP, TCP_CC_INFO, buf, &len));
	EXPECT_EQ(EINVAL, errno);

	/* TCP_INFO is read-only. */
	EXPECT_EQ(-1, setsockopt(self->fd, SOL_TCP, TCP_INFO, buf, 8));
	EXPECT_EQ(ENOPROTOOPT, errno);
}

/* The raw peer's ports for "rto". */
#define R_PORT		4242
#define R_LPORT		20242
#define R_ISN		1000
#define R_IN		100	/* bytes the peer sends */
#define R_OUT		1000	/* bytes the accepted socket sends, lost once */

/*
 * A retransmission timeout, the peer scripted: it connects (MSS 1460, no
 * other option), sends R_IN bytes and lets R_OUT bytes go unacknowledged
 * until they come again; TCP_INFO then tells one timeout and one resend.
 */
TEST_F(info, rto)
{
	struct sockaddr_in sin = estp_sin4(PEER_ADDR, R_LPORT);
	uint8_t seg[PKT_HDR_LEN + R_IN];
	struct peer_conn c;
	struct estp_peer p;
	struct pkt_seg r;
	char buf[R_OUT];
	const char *err;
	int lfd, one = 1, len;
	struct ti t;

	err = peer_open(&p, variant->proto);
	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	lfd = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(lfd, 1));
	ASSERT_EQ(0, peer_connect(&p, &c, R_PORT, R_LPORT, R_ISN));
	self->fd = accept(lfd, NULL, NULL);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, setsockopt(self->fd, SOL_TCP, TCP_NODELAY, &one, sizeof(one)));

	/* The peer's data, acknowledging the SYN-ACK. */
	memset(seg, 0, sizeof(seg));
	pkt_put16(seg, c.port);
	pkt_put16(seg + 2, c.lport);
	pkt_put32(seg + 4, c.seq);
	pkt_put32(seg + 8, c.ack);
	seg[12] = (PKT_HDR_LEN / 4) << 4;
	seg[13] = PKT_ACK | PKT_PSH;
	pkt_put16(seg + 14, PEER_WIN);
	memset(seg + PKT_HDR_LEN, 'p', R_IN);
	ASSERT_EQ(0, peer_send_buf(&p, seg, sizeof(seg)));
	ASSERT_EQ(R_IN, read_all(self->fd, buf, R_IN));

	peer_drain(&p);
	memset(buf, 's', sizeof(buf));
	ASSERT_EQ(R_OUT, send(self->fd, buf, R_OUT, 0));
	/* The segment, then (unacknowledged) the same again after the RTO. */
	do {
		ASSERT_EQ(1, peer_recv(&p, &c, PEER_ANSWER_MS, &r));
	} while (r.seg_len == r.hdr_len);
	EXPECT_EQ(c.ack, r.seq);
	do {
		ASSERT_EQ(1, peer_recv(&p, &c, 4000, &r));
	} while (r.seg_len == r.hdr_len);
	EXPECT_EQ(c.ack, r.seq);
	EXPECT_EQ(R_OUT, r.seg_len - r.hdr_len);

	len = get_info(self->fd, SOL_TCP, &t);
	ASSERT_EQ(tcp_info_len(), len);
	EXPECT_EQ(TCP_ST_ESTABLISHED, t.b.tcpi_state);
	EXPECT_EQ(CA_LOSS, t.b.tcpi_ca_state);
	EXPECT_EQ(0, t.b.tcpi_options);		/* the SYN had MSS only */
	EXPECT_EQ(0, (int)t.b.tcpi_snd_wscale);
	EXPECT_EQ(0, (int)t.b.tcpi_rcv_wscale);
	EXPECT_EQ(1460U, t.b.tcpi_snd_mss);
	EXPECT_EQ(65495U, t.b.tcpi_advmss);
	EXPECT_EQ(1, t.b.tcpi_retransmits);
	EXPECT_EQ(1, t.b.tcpi_backoff);
	EXPECT_EQ(1U, t.b.tcpi_total_retrans);
	EXPECT_EQ(1U, t.b.tcpi_unacked);
	EXPECT_EQ(1U, t.b.tcpi_lost);
	EXPECT_EQ(1U, t.b.tcpi_retrans);
	EXPECT_EQ(1U, t.b.tcpi_snd_cwnd);
	EXPECT_EQ((unsigned int)(R_OUT), t.b.tcpi_bytes_retrans);
	EXPECT_EQ((unsigned int)(2 * R_OUT), t.b.tcpi_bytes_sent);
	EXPECT_EQ(2U, t.b.tcpi_data_segs_out);
	EXPECT_EQ(0U, t.b.tcpi_bytes_acked);
	EXPECT_EQ((unsigned int)(R_IN), t.b.tcpi_bytes_received);
	EXPECT_EQ(3U, t.b.tcpi_segs_in);		/* SYN, its ACK, the data */
	EXPECT_EQ(1U, t.b.tcpi_data_segs_in);
	EXPECT_EQ(1U, t.b.tcpi_delivered);	/* the SYN-ACK */
	EXPECT_LT(0U, t.b.tcpi_rtt);
	EXPECT_LE(200000U, t.b.tcpi_rto);
	if (len >= TI_LEN_612) {
		EXPECT_EQ(1, t.total_rto);
		EXPECT_EQ(1, t.total_rto_recoveries);
		EXPECT_GT(10000U, t.total_rto_time);
	}
	estp_close_abort(&self->fd);
	close(lfd);
	peer_close(&p);
}

TEST_HARNESS_MAIN
