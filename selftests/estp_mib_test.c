// SPDX-License-Identifier: GPL-2.0
/*
 * The counters of /proc/net/estp_stat against TCP's namesakes: each test
 * scripts one exchange, in a netns of its own where nothing else moves the
 * counters, and asserts every counter's delta after each step.  The tcp
 * variant reads TCP's namesakes (/proc/net/snmp's Tcp line or
 * /proc/net/netstat's TcpExt one) and the estp variant /proc/net/estp_stat,
 * so that both pass only when ESTP moves a counter where TCP moves its
 * namesake.  Documentation/observability.rst maps each counter to the test
 * that checks it; this program covers what the others did not.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "kselftest_harness.h"
#include "estp_lib.h"
#include "estp_peer.h"

#define LPORT		23100	/* the listener's */
#define CLOSED_PORT	23199	/* no socket: a SYN there gets a RST */
#define R_PORT		3100	/* the raw peer's, below 16384 */
#define R_ISN		1000000u

#define SNMP		"/proc/net/snmp"
#define NETSTAT		"/proc/net/netstat"

/*
 * Each ESTP counter with a TCP namesake, and where TCP shows that one.
 * InHdrErrors, InBadFlags, InNoSocket and FilterDrop have none (see
 * Documentation/observability.rst).
 */
static const struct mib_name {
	const char *estp, *file, *prefix, *tcp;
} mib_names[] = {
	{ "InSegs", SNMP, "Tcp", "InSegs" },
	{ "OutSegs", SNMP, "Tcp", "OutSegs" },
	{ "RetransSegs", SNMP, "Tcp", "RetransSegs" },
	{ "OutRsts", SNMP, "Tcp", "OutRsts" },
	{ "InCsumErrors", SNMP, "Tcp", "InCsumErrors" },
	{ "AttemptFails", SNMP, "Tcp", "AttemptFails" },
	{ "ListenOverflows", NETSTAT, "TcpExt", "ListenOverflows" },
	{ "ListenDrops", NETSTAT, "TcpExt", "ListenDrops" },
	{ "BacklogDrops", NETSTAT, "TcpExt", "TCPBacklogDrop" },
	{ "SyncookiesSent", NETSTAT, "TcpExt", "SyncookiesSent" },
	{ "SyncookiesRecv", NETSTAT, "TcpExt", "SyncookiesRecv" },
	{ "SyncookiesFailed", NETSTAT, "TcpExt", "SyncookiesFailed" },
	{ "ChallengeACK", NETSTAT, "TcpExt", "TCPChallengeACK" },
	{ "AbortOnMemory", NETSTAT, "TcpExt", "TCPAbortOnMemory" },
	{ "AbortOnTimeout", NETSTAT, "TcpExt", "TCPAbortOnTimeout" },
	{ "AbortOnLinger", NETSTAT, "TcpExt", "TCPAbortOnLinger" },
	{ "OutOfWindowIcmps", NETSTAT, "TcpExt", "OutOfWindowIcmps" },
	{ "AbortOnClose", NETSTAT, "TcpExt", "TCPAbortOnClose" },
	{ "AbortOnData", NETSTAT, "TcpExt", "TCPAbortOnData" },
	{ "RcvQDrop", NETSTAT, "TcpExt", "TCPRcvQDrop" },
	{ "OfoDrop", NETSTAT, "TcpExt", "TCPOFODrop" },
	{ "OfoQueue", NETSTAT, "TcpExt", "TCPOFOQueue" },
	{ "FastRetrans", NETSTAT, "TcpExt", "TCPFastRetrans" },
	{ "MemoryPressures", NETSTAT, "TcpExt", "TCPMemoryPressures" },
	{ "SackRecovery", NETSTAT, "TcpExt", "TCPSackRecovery" },
	{ "PAWSEstab", NETSTAT, "TcpExt", "PAWSEstab" },
	{ "DelayedACKs", NETSTAT, "TcpExt", "DelayedACKs" },
	{ "Timeouts", NETSTAT, "TcpExt", "TCPTimeouts" },
	{ "LossProbes", NETSTAT, "TcpExt", "TCPLossProbes" },
	{ "FullUndo", NETSTAT, "TcpExt", "TCPFullUndo" },
	{ "OfoPruned", NETSTAT, "TcpExt", "OfoPruned" },
	{ "SackReneging", NETSTAT, "TcpExt", "TCPSACKReneging" },
	{ "MinTTLDrop", NETSTAT, "TcpExt", "TCPMinTTLDrop" },
	{ "TimeWaitOverflow", NETSTAT, "TcpExt", "TCPTimeWaitOverflow" },
	{ "ACKSkippedSynRecv", NETSTAT, "TcpExt", "TCPACKSkippedSynRecv" },
	{ "EmbryonicRsts", NETSTAT, "TcpExt", "EmbryonicRsts" },
	{ "PAWSOldAck", NETSTAT, "TcpExt", "PAWSOldAck" },	/* 6.15 and later */
	{ "SynRetrans", NETSTAT, "TcpExt", "TCPSynRetrans" },
	{ "PruneCalled", NETSTAT, "TcpExt", "PruneCalled" },
	{ "RcvPruned", NETSTAT, "TcpExt", "RcvPruned" },
	{ "RcvCollapsed", NETSTAT, "TcpExt", "TCPRcvCollapsed" },
	{ "DeferAcceptDrop", NETSTAT, "TcpExt", "TCPDeferAcceptDrop" },
	{ "PartialUndo", NETSTAT, "TcpExt", "TCPPartialUndo" },
	{ "LossUndo", NETSTAT, "TcpExt", "TCPLossUndo" },
	{ "DSACKUndo", NETSTAT, "TcpExt", "TCPDSACKUndo" },
	{ "SpuriousRTOs", NETSTAT, "TcpExt", "TCPSpuriousRTOs" },
	{ "DSACKOldSent", NETSTAT, "TcpExt", "TCPDSACKOldSent" },
	{ "DSACKOfoSent", NETSTAT, "TcpExt", "TCPDSACKOfoSent" },
	{ "DSACKRecv", NETSTAT, "TcpExt", "TCPDSACKRecv" },
	{ "DSACKOfoRecv", NETSTAT, "TcpExt", "TCPDSACKOfoRecv" },
	{ "DSACKIgnoredOld", NETSTAT, "TcpExt", "TCPDSACKIgnoredOld" },
	{ "DSACKIgnoredNoUndo", NETSTAT, "TcpExt", "TCPDSACKIgnoredNoUndo" },
	{ "DSACKIgnoredDubious", NETSTAT, "TcpExt", "TCPDSACKIgnoredDubious" },
	{ "DelayedACKLost", NETSTAT, "TcpExt", "DelayedACKLost" },
	{ "SACKReorder", NETSTAT, "TcpExt", "TCPSACKReorder" },
	{ "TSReorder", NETSTAT, "TcpExt", "TCPTSReorder" },
	{ "LossProbeRecovery", NETSTAT, "TcpExt", "TCPLossProbeRecovery" },
	{ "SlowStartRetrans", NETSTAT, "TcpExt", "TCPSlowStartRetrans" },
	{ "RenoRecovery", NETSTAT, "TcpExt", "TCPRenoRecovery" },
};

#define NMIB	ARRAY_SIZE(mib_names)

/* One counter of @proto by its ESTP name: -1 when the kernel has none. */
static long mib_get(int proto, const struct mib_name *m)
{
	if (proto == IPPROTO_TCP)
		return estp_proc_counter(m->file, m->prefix, m->tcp);
	return estp_stat(m->estp);
}

static void mib_snap(int proto, long *v)
{
	size_t i;

	for (i = 0; i < NMIB; i++)
		v[i] = mib_get(proto, &mib_names[i]);
}

static int mib_index(const char *name)
{
	size_t i;

	for (i = 0; i < NMIB; i++)
		if (!strcmp(mib_names[i].estp, name))
			return i;
	return -1;
}

/* A step's expected deltas: the counters not listed stay where they were. */
struct mib_want {
	const char *name;
	long delta;
};

#define MIB_END	{ NULL, 0 }

static long want_of(const struct mib_want *w, const char *name)
{
	for (; w->name; w++)
		if (!strcmp(w->name, name))
			return w->delta;
	return 0;
}

/*
 * Waits up to 3 s for the listed counters to reach their deltas over
 * @base (what the last segment of the step moves may still be in a
 * softirq), then checks every counter's delta, and leaves in @base the
 * counters now, for the next step.
 */
static void mib_step(struct __test_metadata *_metadata, int proto, long *base,
		     const struct mib_want *want, const char *step)
{
	long now[NMIB], end = pkt_now_ms() + 3000;
	const struct mib_want *w;
	size_t i;
	int done;

	for (w = want; w->name; w++)
		ASSERT_LE(0, mib_index(w->name)) TH_LOG("%s: a counter not listed", step);
	do {
		mib_snap(proto, now);
		done = 1;
		for (w = want; w->name; w++) {
			i = mib_index(w->name);
			if (now[i] >= 0 && now[i] - base[i] < w->delta)
				done = 0;
		}
	} while (!done && pkt_now_ms() < end && !usleep(5000));
	for (i = 0; i < NMIB; i++) {
		if (now[i] < 0 || base[i] < 0)
			continue;	/* not in this kernel's TCP */
		EXPECT_EQ(want_of(want, mib_names[i].estp), now[i] - base[i])
			TH_LOG("%s: %s", step, mib_names[i].estp);
		base[i] = now[i];
	}
}

FIXTURE(mib)
{
	struct estp_peer p;
	struct peer_conn c;
	int lfd, cfd, afd;
	long base[NMIB];
};

FIXTURE_VARIANTS_TCP_ESTP(mib);

/*
 * A netns of the test's own (peer_open()): the raw peer's RSTs filter only
 * touches ports below 16384, which the socket pairs here do not use.
 */
FIXTURE_SETUP(mib)
{
	const char *err;

	self->lfd = self->cfd = self->afd = -1;
	err = peer_open(&self->p, variant->proto);
	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
	mib_snap(variant->proto, self->base);
	ASSERT_LE(0, self->base[0]) TH_LOG("no counters for proto %d", variant->proto);
}

FIXTURE_TEARDOWN(mib)
{
	estp_close_abort(&self->afd);
	estp_close_abort(&self->cfd);
	estp_close_abort(&self->lfd);
	peer_close(&self->p);
}

/* An orderly close() of *@fd, which is -1 after. */
static void close_fd(int *fd)
{
	close(*fd);
	*fd = -1;
}

static int listen_on(int proto, int port)
{
	struct sockaddr_in sin = estp_sin4("127.0.0.1", port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, proto), one = 1;

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 8)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A connected pair on LPORT: its handshake moves InSegs and OutSegs by 3. */
static void open_pair(struct __test_metadata *_metadata, FIXTURE_DATA(mib) *self, int proto)
{
	static const struct mib_want hs[] = {
		{ "InSegs", 3 }, { "OutSegs", 3 }, MIB_END
	};

	self->lfd = listen_on(proto, LPORT);
	ASSERT_LE(0, self->lfd);
	self->cfd = estp_connect_to(proto, "127.0.0.1", LPORT);
	ASSERT_LE(0, self->cfd);
	self->afd = accept4(self->lfd, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_LE(0, self->afd);
	mib_step(_metadata, proto, self->base, hs, "handshake");
}

static int set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val));
}

/* Waits up to 3 s for the bytes @fd has sent to be acknowledged: 0 or -1. */
static int wait_acked(int fd)
{
	long end = pkt_now_ms() + 3000;
	int outq = -1;

	while ((ioctl(fd, SIOCOUTQ, &outq) || outq) && pkt_now_ms() < end)
		usleep(2000);
	return outq ? -1 : 0;
}

/*
 * Waits up to 3 s for poll() on @fd to report @what: POLLRDHUP for the
 * peer's FIN, POLLERR or POLLHUP for a reset.  0 or -1.
 */
static int wait_hup(int fd, short what)
{
	struct pollfd pfd = { .fd = fd, .events = what & POLLRDHUP };
	long end = pkt_now_ms() + 3000;

	do {
		if (poll(&pfd, 1, 100) == 1 && (pfd.revents & what))
			return 0;
	} while (pkt_now_ms() < end);
	return -1;
}

static void put_byte(struct __test_metadata *_metadata, int fd)
{
	ASSERT_EQ(1, write(fd, "x", 1));
}

static void get_byte(struct __test_metadata *_metadata, int fd)
{
	char c;

	ASSERT_EQ(1, read(fd, &c, 1));
}

/*
 * Segments in and out and RSTs: a connect() refused (tcp_v4_send_reset()
 * for the SYN, tcp_reset() in SYN_SENT counts AttemptFails), a byte each
 * way (each ACKed at once: the first data of a connection is, in quick-ACK
 * mode), and an abort by SO_LINGER 0, which tcp_close() counts as
 * TCPAbortOnData.  Over lo every segment sent is one received.
 */
TEST_F(mib, segments)
{
	static const struct mib_want refused[] = {
		{ "InSegs", 2 }, { "OutSegs", 2 }, { "OutRsts", 1 }, { "AttemptFails", 1 },
		MIB_END
	};
	static const struct mib_want byte[] = { { "InSegs", 2 }, { "OutSegs", 2 }, MIB_END };
	static const struct mib_want linger0[] = {
		{ "InSegs", 1 }, { "OutSegs", 1 }, { "OutRsts", 1 }, { "AbortOnData", 1 },
		MIB_END
	};
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int proto = variant->proto;

	errno = 0;
	EXPECT_EQ(-1, estp_connect_to(proto, "127.0.0.1", CLOSED_PORT));
	EXPECT_EQ(ECONNREFUSED, errno);
	mib_step(_metadata, proto, self->base, refused, "refused");

	open_pair(_metadata, self, proto);
	put_byte(_metadata, self->cfd);
	get_byte(_metadata, self->afd);
	ASSERT_EQ(0, wait_acked(self->cfd));
	mib_step(_metadata, proto, self->base, byte, "client's byte");
	put_byte(_metadata, self->afd);
	get_byte(_metadata, self->cfd);
	ASSERT_EQ(0, wait_acked(self->afd));
	mib_step(_metadata, proto, self->base, byte, "server's byte");

	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	close_fd(&self->cfd);
	ASSERT_EQ(0, wait_hup(self->afd, POLLERR | POLLHUP));
	mib_step(_metadata, proto, self->base, linger0, "SO_LINGER 0 close");
}

/*
 * The aborts of a reader that stopped: close() with data unread
 * (TCPAbortOnClose, tcp_close()), and data for a socket shut down for
 * reading (TCPAbortOnData, tcp_rcv_state_process() in FIN_WAIT2).  The
 * peer's FIN puts the other end in pingpong mode (tcp_fin()): its ACK waits
 * for the delayed-ACK timer (DelayedACKs, tcp_delack_timer_handler()).
 */
TEST_F(mib, aborts)
{
	/* The byte, its ACK and the RST. */
	static const struct mib_want unread[] = {
		{ "InSegs", 3 }, { "OutSegs", 3 }, { "OutRsts", 1 }, { "AbortOnClose", 1 },
		MIB_END
	};
	static const struct mib_want fin[] = {
		{ "InSegs", 2 }, { "OutSegs", 2 }, { "DelayedACKs", 1 }, MIB_END
	};
	static const struct mib_want data[] = {
		{ "InSegs", 2 }, { "OutSegs", 2 }, { "OutRsts", 1 }, { "AbortOnData", 1 },
		MIB_END
	};
	int proto = variant->proto;

	open_pair(_metadata, self, proto);
	put_byte(_metadata, self->cfd);
	ASSERT_EQ(0, wait_acked(self->cfd));
	close_fd(&self->afd);
	ASSERT_EQ(0, wait_hup(self->cfd, POLLERR | POLLHUP));
	mib_step(_metadata, proto, self->base, unread, "close with a byte unread");
	close_fd(&self->cfd);
	close_fd(&self->lfd);

	open_pair(_metadata, self, proto);
	ASSERT_EQ(0, shutdown(self->cfd, SHUT_RDWR));
	ASSERT_EQ(0, wait_hup(self->afd, POLLRDHUP));
	ASSERT_EQ(1, peer_wait_rows(proto, estp_local_port(self->cfd), LPORT, ST_FIN_WAIT2, 1,
				    3000));
	mib_step(_metadata, proto, self->base, fin, "shutdown(SHUT_RDWR)");
	put_byte(_metadata, self->afd);
	ASSERT_EQ(0, wait_hup(self->afd, POLLERR | POLLHUP));
	mib_step(_metadata, proto, self->base, data, "data after SHUT_RD");
}

/*
 * An orphan in FIN_WAIT1 under TCP_LINGER2 < 0 that gets the ACK of its FIN
 * ends there with a RST: tcp_rcv_state_process() counts TCPAbortOnData
 * (TCPAbortOnLinger is tcp_close()'s, for one already in FIN_WAIT2).
 */
TEST_F(mib, linger2_fin_wait1)
{
	static const struct mib_want orphan[] = {
		{ "InSegs", 3 }, { "OutSegs", 3 }, { "OutRsts", 1 }, { "AbortOnData", 1 },
		{ "DelayedACKs", 1 }, MIB_END
	};
	int proto = variant->proto;

	open_pair(_metadata, self, proto);
	ASSERT_EQ(0, set_int(self->cfd, SOL_TCP, TCP_LINGER2, -1));
	close_fd(&self->cfd);
	ASSERT_EQ(0, wait_hup(self->afd, POLLERR | POLLHUP));
	mib_step(_metadata, proto, self->base, orphan, "orphan gets the ACK of its FIN");
}

/*
 * Delayed ACKs: TCP_QUICKACK 0 (pingpong) delays the ACK of the first byte
 * to the timer (DelayedACKs), which leaves pingpong mode: the next byte is
 * ACKed at once.
 */
TEST_F(mib, delayed_ack)
{
	static const struct mib_want delayed[] = {
		{ "InSegs", 2 }, { "OutSegs", 2 }, { "DelayedACKs", 1 }, MIB_END
	};
	static const struct mib_want quick[] = { { "InSegs", 2 }, { "OutSegs", 2 }, MIB_END };
	int proto = variant->proto;

	open_pair(_metadata, self, proto);
	ASSERT_EQ(0, set_int(self->afd, SOL_TCP, TCP_QUICKACK, 0));
	put_byte(_metadata, self->cfd);
	ASSERT_EQ(0, wait_acked(self->cfd));
	mib_step(_metadata, proto, self->base, delayed, "byte to a pingpong socket");
	get_byte(_metadata, self->afd);
	put_byte(_metadata, self->cfd);
	ASSERT_EQ(0, wait_acked(self->cfd));
	mib_step(_metadata, proto, self->base, quick, "byte after the timer");
}

/*
 * Sends @len bytes of data at @seq (with ACK) on the raw peer's connection.
 */
static int raw_data(FIXTURE_DATA(mib) *self, uint32_t seq, int len)
{
	uint8_t buf[PKT_HDR_LEN + 64];

	memset(buf, 0, sizeof(buf));
	pkt_put16(buf, self->c.port);
	pkt_put16(buf + 2, self->c.lport);
	pkt_put32(buf + 4, seq);
	pkt_put32(buf + 8, self->c.ack);
	buf[12] = (PKT_HDR_LEN / 4) << 4;
	buf[13] = PKT_ACK | PKT_PSH;
	pkt_put16(buf + 14, PEER_WIN);
	memset(buf + PKT_HDR_LEN, 'd', len);
	return peer_send_buf(&self->p, buf, PKT_HDR_LEN + len);
}

/* The listener's answer to the raw peer: an ACK of @ack. */
static void expect_ack(struct __test_metadata *_metadata, FIXTURE_DATA(mib) *self,
		       uint32_t ack)
{
	struct pkt_seg r;

	ASSERT_EQ(1, peer_recv(&self->p, &self->c, PEER_ANSWER_MS, &r));
	EXPECT_EQ(PKT_ACK, r.flags);
	EXPECT_EQ(ack, r.ack);
}

/*
 * The receive queue against a scripted raw peer (no SACK): a segment past
 * a hole is queued out of order (TCPOFOQueue, tcp_data_queue_ofo()), and so
 * is its copy; the hole's data is ACKed at once; a copy of data already
 * received is an ACK that was lost (DelayedACKLost, tcp_data_queue()).
 * Each listener segment to the raw peer's port, which has no socket, is
 * also received and answered by a RST that tc drops.
 */
TEST_F(mib, receive_queue)
{
	/* The raw peer's SYN and ACK, the SYN-ACK and its RST. */
	static const struct mib_want hs[] = {
		{ "InSegs", 3 }, { "OutSegs", 2 }, { "OutRsts", 1 }, MIB_END
	};
	/* A segment from the raw peer answered by an ACK (and its RST). */
	static const struct mib_want ofo[] = {
		{ "InSegs", 2 }, { "OutSegs", 2 }, { "OutRsts", 1 }, { "OfoQueue", 1 },
		MIB_END
	};
	static const struct mib_want fill[] = {
		{ "InSegs", 2 }, { "OutSegs", 2 }, { "OutRsts", 1 }, MIB_END
	};
	static const struct mib_want dup[] = {
		{ "InSegs", 2 }, { "OutSegs", 2 }, { "OutRsts", 1 }, { "DelayedACKLost", 1 },
		MIB_END
	};
	int proto = variant->proto;
	uint32_t isn = R_ISN;
	char buf[64];

	self->lfd = listen_on(proto, LPORT);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, peer_connect(&self->p, &self->c, R_PORT, LPORT, isn));
	self->afd = accept4(self->lfd, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_LE(0, self->afd);
	mib_step(_metadata, proto, self->base, hs, "raw handshake");

	ASSERT_EQ(0, raw_data(self, isn + 1 + 10, 10));
	expect_ack(_metadata, self, isn + 1);
	mib_step(_metadata, proto, self->base, ofo, "segment past a hole");
	ASSERT_EQ(0, raw_data(self, isn + 1 + 10, 10));
	expect_ack(_metadata, self, isn + 1);
	mib_step(_metadata, proto, self->base, ofo, "its copy");
	ASSERT_EQ(0, raw_data(self, isn + 1, 10));
	expect_ack(_metadata, self, isn + 1 + 20);
	mib_step(_metadata, proto, self->base, fill, "the hole");
	ASSERT_EQ(20, recv(self->afd, buf, sizeof(buf), MSG_DONTWAIT));
	ASSERT_EQ(0, raw_data(self, isn + 1, 10));
	expect_ack(_metadata, self, isn + 1 + 20);
	mib_step(_metadata, proto, self->base, dup, "old data again");
}

/*
 * A segment whose checksum does not verify, to a port with no socket:
 * counted in InSegs and InCsumErrors (tcp_v4_rcv()'s csum_error), not
 * answered.
 */
TEST_F(mib, bad_checksum)
{
	static const struct mib_want bad[] = {
		{ "InSegs", 1 }, { "InCsumErrors", 1 }, MIB_END
	};
	struct pkt_seg s = {
		.sport = R_PORT, .dport = CLOSED_PORT, .seq = R_ISN, .flags = PKT_SYN,
		.win = PEER_WIN, .bad_csum = 1,
	};

	ASSERT_EQ(0, peer_send(&self->p, &s));
	mib_step(_metadata, variant->proto, self->base, bad, "bad checksum");
}

/*
 * nstat reads /proc/net/estp_stat as it reads /proc/net/netstat (the
 * environment names its files): its deltas are the counters' "Estp"
 * prefixed, as TCP's are "Tcp" prefixed from /proc/net/snmp.  @out gets
 * the delta of each of @names (-1 when not printed).
 */
#define NSTAT_ESTP_ENV	"PROC_NET_NETSTAT=/proc/net/estp_stat PROC_NET_SNMP=/dev/null " \
			"PROC_NET_SNMP6=/dev/null PROC_NET_SCTP_SNMP=/dev/null"

static int nstat_run(int proto, const char *hist, const char *args, const char *prefix,
		     const char *const *names, long *out, int n)
{
	char cmd[512], line[256], name[128];
	long val;
	FILE *f;
	int i;

	snprintf(cmd, sizeof(cmd), "%s NSTAT_HISTORY=%s nstat %s 2>/dev/null",
		 proto == IPPROTO_TCP ? "env" : "env " NSTAT_ESTP_ENV,
		 hist, args);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %ld", name, &val) != 2 ||
		    strncmp(name, prefix, strlen(prefix)))
			continue;
		for (i = 0; i < n; i++)
			if (!strcmp(name + strlen(prefix), names[i]))
				out[i] = val;
	}
	return pclose(f) ? -1 : 0;
}

/*
 * nstat's deltas of the counters: a refused connect() moves InSegs and
 * OutSegs by 2 and OutRsts by 1 for either protocol.
 */
TEST_F(mib, nstat_deltas)
{
	static const char *const names[] = { "InSegs", "OutSegs", "OutRsts", "InCsumErrors" };
	static const long want[] = { 2, 2, 1, 0 };
	const char *prefix = variant->proto == IPPROTO_TCP ? "Tcp" : "Estp";
	long got[ARRAY_SIZE(names)];
	char hist[64], args[128];
	size_t i;

	if (system("nstat -V >/dev/null 2>&1"))
		SKIP(return, "no nstat (iproute2)");
	snprintf(hist, sizeof(hist), "/tmp/estp_mib_nstat.%d", getpid());
	snprintf(args, sizeof(args), "-z %sInSegs %sOutSegs %sOutRsts %sInCsumErrors",
		 prefix, prefix, prefix, prefix);
	unlink(hist);
	ASSERT_EQ(0, nstat_run(variant->proto, hist, "-n", prefix, names, got, 0));
	errno = 0;
	EXPECT_EQ(-1, estp_connect_to(variant->proto, "127.0.0.1", CLOSED_PORT));
	EXPECT_EQ(ECONNREFUSED, errno);
	ASSERT_EQ(0, nstat_run(variant->proto, hist, args, prefix, names, got,
			       ARRAY_SIZE(names)));
	unlink(hist);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		char what[64];

		snprintf(what, sizeof(what), "%s%s", prefix, names[i]);
		EXPECT_EQ(want[i], got[i]) TH_LOG("nstat %s", what);
	}
}

TEST_HARNESS_MAIN
