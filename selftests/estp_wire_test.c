// SPDX-License-Identifier: GPL-2.0
/*
 * The options on the wire, byte for byte, with TCP on the same kernel as
 * the specification: the SYN, SYN-ACK, final ACK and data segments of a
 * connection over loopback and over a veth pair (MTU 1500) between two
 * netns, caught with raw sockets; the same with timestamps, SACK or window
 * scaling turned off by sysctl; and, through the raw peer of estp_peer.h,
 * the SACK blocks an out-of-order segment draws, PAWS and the quick ACKs
 * of the first data; the checksum a connection leaves to its device; and
 * the TOS and TTL bytes of the IP headers that IP_TOS and IP_TTL set.
 * Every number that depends on the kernel (MSS, window, window scale) is
 * compared with TCP's, caught in the same test; only the layout of the
 * options is written down here.  Nothing asserts a
 * time.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "kselftest_harness.h"
#include "estp_lib.h"
#include "estp_peer.h"

#define NS_A		"estp-wire-a"
#define NS_B		"estp-wire-b"
#define IP_A		"10.198.0.1"
#define IP_B		"10.198.0.2"
#define LO		"127.0.0.1"
#define CPORT		21900	/* the client's, bound */
#define SPORT		21950	/* the listener's */
#define ANSWER_MS	2000
#define QUIET_MS	300

/* One segment as caught: its header, its options' bytes, its payload length. */
struct wseg {
	struct pkt_seg h;
	uint8_t opt[40];
	int optlen;
	int paylen;
	uint8_t payload[64];
	/* The options, parsed; -1 where absent. */
	int mss, ws, sack_perm, nsacks;
	int64_t tsval, tsecr;
	uint32_t sacks[4][2];
};

static void wseg_parse_opts(struct wseg *w)
{
	int i = 0;

	w->mss = w->ws = -1;
	w->tsval = w->tsecr = -1;
	w->sack_perm = 0;
	w->nsacks = 0;
	while (i < w->optlen) {
		const uint8_t *o = w->opt + i;

		if (o[0] == 0)
			break;
		if (o[0] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= w->optlen || o[1] < 2 || i + o[1] > w->optlen)
			break;
		switch (o[0]) {
		case 2:
			if (o[1] == 4)
				w->mss = pkt_get16(o + 2);
			break;
		case 3:
			if (o[1] == 3)
				w->ws = o[2];
			break;
		case 4:
			if (o[1] == 2)
				w->sack_perm = 1;
			break;
		case 5:
			for (w->nsacks = 0; w->nsacks < (o[1] - 2) / 8 && w->nsacks < 4; w->nsacks++) {
				w->sacks[w->nsacks][0] = pkt_get32(o + 2 + 8 * w->nsacks);
				w->sacks[w->nsacks][1] = pkt_get32(o + 6 + 8 * w->nsacks);
			}
			break;
		case 8:
			if (o[1] == 10) {
				w->tsval = pkt_get32(o + 2);
				w->tsecr = pkt_get32(o + 6);
			}
			break;
		}
		i += o[1];
	}
}

/*
 * The next segment of @proto from port @sport to port @dport on raw socket
 * @fd within @ms: 1 and @w filled, 0 on timeout, -1 on error.
 */
static int wseg_recv(int fd, int proto, uint16_t sport, uint16_t dport, int ms,
		     struct wseg *w)
{
	uint8_t buf[70000];
	ssize_t n;
	int ihl;

	memset(w, 0, sizeof(*w));
	n = pkt_recv_buf(fd, proto, sport, dport, ms, buf, sizeof(buf), &w->h);
	if (n <= 0)
		return n;
	if (w->h.hdr_len < PKT_HDR_LEN || w->h.hdr_len > w->h.seg_len)
		return -1;
	ihl = (buf[0] & 0xf) * 4;
	w->optlen = w->h.hdr_len - PKT_HDR_LEN;
	memcpy(w->opt, buf + ihl + PKT_HDR_LEN, w->optlen);
	w->paylen = w->h.seg_len - w->h.hdr_len;
	memcpy(w->payload, buf + ihl + w->h.hdr_len,
	       w->paylen < (int)sizeof(w->payload) ? w->paylen : (int)sizeof(w->payload));
	wseg_parse_opts(w);
	return 1;
}

static void wseg_hex(const struct wseg *w, char *out, size_t len)
{
	int i;

	out[0] = '\0';
	for (i = 0; i < w->optlen && strlen(out) + 4 < len; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%02x", i ? " " : "", w->opt[i]);
}

/*
 * Whether @w's option bytes are @pattern: hex bytes separated by spaces,
 * "??" for any byte (a value, not layout).
 */
static bool wseg_layout(const struct wseg *w, const char *pattern)
{
	const char *p = pattern;
	int i = 0;

	while (*p) {
		unsigned int b;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (i >= w->optlen)
			return false;
		if (p[0] != '?' && (sscanf(p, "%2x", &b) != 1 || b != w->opt[i]))
			return false;
		p += 2;
		i++;
	}
	return i == w->optlen;
}

/*
 * The options of a SYN (@synack false) or SYN-ACK as tcp_options_write()
 * lays them out: MSS; SACK-permitted in the timestamps option's two NOPs
 * (or NOP, NOP, SACK-permitted alone); timestamps, the SYN's echo 0; NOP
 * and window scale.
 */
static void syn_pattern(char *p, bool ts, bool sack, bool ws, bool synack)
{
	strcpy(p, "02 04 ?? ??");
	if (ts) {
		strcat(p, sack ? " 04 02" : " 01 01");
		strcat(p, " 08 0a ?? ?? ?? ??");
		strcat(p, synack ? " ?? ?? ?? ??" : " 00 00 00 00");
	} else if (sack) {
		strcat(p, " 01 01 04 02");
	}
	if (ws)
		strcat(p, " 01 03 03 ??");
}

#define TS_PATTERN	"01 01 08 0a ?? ?? ?? ?? ?? ?? ?? ??"

#define EXPECT_LAYOUT(w, pat) do {						\
	char _hex[200];								\
	wseg_hex(w, _hex, sizeof(_hex));					\
	EXPECT_TRUE(wseg_layout(w, pat))					\
		TH_LOG("%s: options [%s], want [%s]", #w, _hex, pat);		\
} while (0)

/* ---------------------------------------------------------------------- */
/* Two real sockets, over lo or a veth pair, and what they send. */

FIXTURE(wire)
{
	int home, ns[2];	/* our netns; the client's and the server's */
	bool named;		/* ns are NS_A/NS_B, to delete */
	const char *caddr, *saddr;
};

FIXTURE_VARIANT(wire)
{
	int proto;
	bool veth;
};

FIXTURE_VARIANT_ADD(wire, tcp_lo) { .proto = IPPROTO_TCP, .veth = false };
FIXTURE_VARIANT_ADD(wire, estp_lo) { .proto = IPPROTO_ESTP, .veth = false };
FIXTURE_VARIANT_ADD(wire, tcp_veth) { .proto = IPPROTO_TCP, .veth = true };
FIXTURE_VARIANT_ADD(wire, estp_veth) { .proto = IPPROTO_ESTP, .veth = true };

static void veth_down(void)
{
	estp_run("ip netns del " NS_A);
	estp_run("ip netns del " NS_B);
}

static int veth_up(void)
{
	veth_down();
	if (estp_run("ip netns add " NS_A) || estp_run("ip netns add " NS_B) ||
	    estp_run("ip -n " NS_A " link add wa0 type veth peer name wb0 netns " NS_B) ||
	    estp_run("ip -n " NS_A " link set wa0 mtu 1500") ||
	    estp_run("ip -n " NS_B " link set wb0 mtu 1500") ||
	    estp_run("ip -n " NS_A " addr add " IP_A "/24 dev wa0") ||
	    estp_run("ip -n " NS_B " addr add " IP_B "/24 dev wb0") ||
	    estp_run("ip -n " NS_A " link set wa0 up") ||
	    estp_run("ip -n " NS_B " link set wb0 up") ||
	    estp_run("ip -n " NS_A " link set lo up") ||
	    estp_run("ip -n " NS_B " link set lo up")) {
		veth_down();
		return -1;
	}
	return 0;
}

FIXTURE_SETUP(wire)
{
	self->ns[0] = self->ns[1] = -1;
	self->named = variant->veth;
	self->home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->home);
	if (variant->veth) {
		ASSERT_EQ(0, veth_up()) TH_LOG("ip netns/veth setup failed");
		self->ns[0] = open("/run/netns/" NS_A, O_RDONLY | O_CLOEXEC);
		self->ns[1] = open("/run/netns/" NS_B, O_RDONLY | O_CLOEXEC);
		self->caddr = IP_A;
		self->saddr = IP_B;
	} else {
		/* A private netns: its sysctls and counters are this test's. */
		ASSERT_EQ(0, unshare(CLONE_NEWNET));
		ASSERT_EQ(0, peer_lo_up());
		self->ns[0] = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		self->ns[1] = dup(self->ns[0]);
		self->caddr = self->saddr = LO;
		ASSERT_EQ(0, setns(self->home, CLONE_NEWNET));
	}
	ASSERT_LE(0, self->ns[0]);
	ASSERT_LE(0, self->ns[1]);
}

FIXTURE_TEARDOWN(wire)
{
	int i;

	setns(self->home, CLONE_NEWNET);
	for (i = 0; i < 2; i++)
		if (self->ns[i] >= 0)
			close(self->ns[i]);
	if (self->named)
		veth_down();
	close(self->home);
}

/* Enter netns @i (0: the client's, 1: the server's) or go home (-1). */
static int in_ns(FIXTURE_DATA(wire) *self, int i)
{
	return setns(i < 0 ? self->home : self->ns[i], CLONE_NEWNET);
}

/* Writes sysctl @name = @val in both netns: 0 or -1. */
static int set_sysctl(FIXTURE_DATA(wire) *self, const char *name, const char *val)
{
	char path[128];
	int i, err = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/%s", name);
	for (i = 0; i < 2 && !err; i++) {
		if (in_ns(self, i))
			return -1;
		err = estp_sysctl_set(path, val);
	}
	in_ns(self, -1);
	return err ? -1 : 0;
}

/* A connection's segments, as the wire carried them. */
struct conv {
	struct wseg syn, synack, ack;	/* the handshake */
	struct wseg cdata, sack_;	/* client's data, the server's ACK of it */
	struct wseg sdata, cack;	/* server's data, the client's ACK of it */
};

/*
 * Connects a client of @proto (netns 0, port @cport) to a listener (netns 1,
 * port @sport), client and server send 5 bytes each, and the segments are
 * caught on raw sockets in each netns: 0, or what failed in @why.
 */
static int converse(FIXTURE_DATA(wire) *self, int proto, int cport, int sport,
		    struct conv *cv, const char **why)
{
	struct sockaddr_in ssin = estp_sin4(self->saddr, sport);
	struct sockaddr_in csin = estp_sin4(self->caddr, cport);
	int cap[2] = { -1, -1 }, lfd = -1, cfd = -1, afd = -1, ret = -1, one = 1;
	char buf[8];

	memset(cv, 0, sizeof(*cv));
	*why = "raw sockets";
	/* cap[0] sees what the client gets, cap[1] what the server gets. */
	if (in_ns(self, 0) || (cap[0] = socket(AF_INET, SOCK_RAW, proto)) < 0 ||
	    in_ns(self, 1) || (cap[1] = socket(AF_INET, SOCK_RAW, proto)) < 0)
		goto out;
	*why = "listener";
	lfd = socket(AF_INET, SOCK_STREAM, proto);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&ssin, sizeof(ssin)) || listen(lfd, 4))
		goto out;
	*why = "connect";
	if (in_ns(self, 0))
		goto out;
	cfd = socket(AF_INET, SOCK_STREAM, proto);
	if (cfd < 0 || setsockopt(cfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(cfd, (struct sockaddr *)&csin, sizeof(csin)) ||
	    connect(cfd, (struct sockaddr *)&ssin, sizeof(ssin)))
		goto out;
	afd = accept(lfd, NULL, NULL);
	*why = "accept";
	if (afd < 0)
		goto out;
	*why = "SYN";
	if (wseg_recv(cap[1], proto, cport, sport, ANSWER_MS, &cv->syn) != 1)
		goto out;
	*why = "SYN-ACK";
	if (wseg_recv(cap[0], proto, sport, cport, ANSWER_MS, &cv->synack) != 1)
		goto out;
	*why = "final ACK";
	if (wseg_recv(cap[1], proto, cport, sport, ANSWER_MS, &cv->ack) != 1)
		goto out;
	*why = "client data";
	if (send(cfd, "hello", 5, 0) != 5 ||
	    wseg_recv(cap[1], proto, cport, sport, ANSWER_MS, &cv->cdata) != 1)
		goto out;
	*why = "server ACK";
	if (recv(afd, buf, 5, MSG_WAITALL) != 5 ||
	    wseg_recv(cap[0], proto, sport, cport, ANSWER_MS, &cv->sack_) != 1)
		goto out;
	*why = "server data";
	if (send(afd, "world", 5, 0) != 5 ||
	    wseg_recv(cap[0], proto, sport, cport, ANSWER_MS, &cv->sdata) != 1)
		goto out;
	*why = "client ACK";
	if (recv(cfd, buf, 5, MSG_WAITALL) != 5 ||
	    wseg_recv(cap[1], proto, cport, sport, ANSWER_MS, &cv->cack) != 1)
		goto out;
	*why = NULL;
	ret = 0;
out:
	estp_close_abort(&afd);
	estp_close_abort(&cfd);
	estp_close_abort(&lfd);
	if (cap[0] >= 0)
		close(cap[0]);
	if (cap[1] >= 0)
		close(cap[1]);
	in_ns(self, -1);
	return ret;
}

static void log_conv(struct __test_metadata *_metadata, const char *name,
		     const struct conv *cv)
{
	const struct wseg *w[] = { &cv->syn, &cv->synack, &cv->ack, &cv->cdata,
				   &cv->sack_, &cv->sdata, &cv->cack };
	static const char * const what[] = { "SYN", "SYN-ACK", "ACK", "data",
					     "its ACK", "reply", "its ACK" };
	char hex[200];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(w); i++) {
		wseg_hex(w[i], hex, sizeof(hex));
		TH_LOG("%s %-7s flags %02x win %5u doff %2d len %d [%s]", name, what[i],
		       w[i]->h.flags, w[i]->h.win, w[i]->h.hdr_len / 4, w[i]->paylen, hex);
	}
}

/*
 * The checks of one conversation: the layout for the options on (@ts,
 * @sack, @ws), echoes, and MSS, windows and scale equal to @ref's (TCP's).
 */
static void check_conv(struct __test_metadata *_metadata, const struct conv *cv,
		       const struct conv *ref, bool ts, bool sack, bool ws)
{
	char syn[128], synack[128];
	const char *data = ts ? TS_PATTERN : "";
	int doff = ts ? 8 : 5;

	syn_pattern(syn, ts, sack, ws, false);
	syn_pattern(synack, ts, sack, ws, true);

	EXPECT_EQ(PKT_SYN, cv->syn.h.flags);
	EXPECT_LAYOUT(&cv->syn, syn);
	EXPECT_EQ(ref->syn.mss, cv->syn.mss);
	EXPECT_EQ(ref->syn.h.win, cv->syn.h.win);
	EXPECT_EQ(ref->syn.ws, cv->syn.ws);
	EXPECT_EQ(0, cv->syn.paylen);

	EXPECT_EQ(PKT_SYN | PKT_ACK, cv->synack.h.flags);
	EXPECT_LAYOUT(&cv->synack, synack);
	EXPECT_EQ(ref->synack.mss, cv->synack.mss);
	EXPECT_EQ(ref->synack.h.win, cv->synack.h.win);
	EXPECT_EQ(ref->synack.ws, cv->synack.ws);
	EXPECT_EQ(cv->syn.h.seq + 1, cv->synack.h.ack);
	if (ts)
		EXPECT_EQ(cv->syn.tsval, cv->synack.tsecr);

	/* The final ACK: NOP, NOP, timestamps; the first scaled window. */
	EXPECT_EQ(PKT_ACK, cv->ack.h.flags);
	EXPECT_EQ(doff * 4, cv->ack.h.hdr_len);
	EXPECT_LAYOUT(&cv->ack, data);
	EXPECT_EQ(ref->ack.h.win, cv->ack.h.win);
	EXPECT_EQ(cv->synack.h.seq + 1, cv->ack.h.ack);
	EXPECT_EQ(0, cv->ack.paylen);

	/* Data both ways and their ACKs, each echoing the last TSval seen. */
	EXPECT_EQ(doff * 4, cv->cdata.h.hdr_len);
	EXPECT_LAYOUT(&cv->cdata, data);
	EXPECT_EQ(5, cv->cdata.paylen);
	EXPECT_EQ(cv->syn.h.seq + 1, cv->cdata.h.seq);
	EXPECT_EQ(PKT_ACK, cv->sack_.h.flags);
	EXPECT_EQ(doff * 4, cv->sack_.h.hdr_len);
	EXPECT_LAYOUT(&cv->sack_, data);
	EXPECT_EQ(cv->cdata.h.seq + 5, cv->sack_.h.ack);
	EXPECT_EQ(0, cv->sack_.paylen);
	EXPECT_EQ(doff * 4, cv->sdata.h.hdr_len);
	EXPECT_LAYOUT(&cv->sdata, data);
	EXPECT_EQ(5, cv->sdata.paylen);
	EXPECT_EQ(doff * 4, cv->cack.h.hdr_len);
	EXPECT_LAYOUT(&cv->cack, data);
	EXPECT_EQ(cv->sdata.h.seq + 5, cv->cack.h.ack);
	if (ts) {
		EXPECT_EQ(cv->synack.tsval, cv->ack.tsecr);
		EXPECT_EQ(cv->synack.tsval, cv->cdata.tsecr);
		EXPECT_EQ(cv->cdata.tsval, cv->sack_.tsecr);
		EXPECT_EQ(cv->cdata.tsval, cv->sdata.tsecr);
		EXPECT_EQ(cv->sdata.tsval, cv->cack.tsecr);
		/* The clocks do not run backwards. */
		EXPECT_LE(0, (int32_t)(cv->cdata.tsval - cv->syn.tsval));
		EXPECT_LE(0, (int32_t)(cv->sdata.tsval - cv->synack.tsval));
	}
	/*
	 * The windows of the data and their ACKs too: 5 bytes received shrink
	 * them as TCP's (checksums are not looked at: TCP's are left to the
	 * device, and a raw socket sees them unfinished).
	 */
	EXPECT_EQ(ref->cdata.h.win, cv->cdata.h.win);
	EXPECT_EQ(ref->sack_.h.win, cv->sack_.h.win);
	EXPECT_EQ(ref->sdata.h.win, cv->sdata.h.win);
	EXPECT_EQ(ref->cack.h.win, cv->cack.h.win);
}

/*
 * One case: the sysctls @names set to "0" (TCP's in net.ipv4.tcp_<name>,
 * ESTP's in net.estp.<name>), TCP's conversation, then the variant's.
 */
static void wire_case(struct __test_metadata *_metadata, FIXTURE_DATA(wire) *self,
		      int proto, bool ts, bool sack, bool ws)
{
	static const char * const names[] = { "timestamps", "sack", "window_scaling" };
	const bool on[] = { ts, sack, ws };
	struct conv ref, cv;
	const char *why;
	char path[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		const char *v = on[i] ? "1" : "0";

		snprintf(path, sizeof(path), "ipv4/tcp_%s", names[i]);
		ASSERT_EQ(0, set_sysctl(self, path, v)) TH_LOG("%s", path);
		snprintf(path, sizeof(path), "estp/%s", names[i]);
		ASSERT_EQ(0, set_sysctl(self, path, v)) TH_LOG("%s", path);
	}
	ASSERT_EQ(0, converse(self, IPPROTO_TCP, CPORT, SPORT, &ref, &why))
		TH_LOG("TCP: %s", why);
	log_conv(_metadata, "tcp ", &ref);
	ASSERT_EQ(0, converse(self, proto, CPORT + 1, SPORT + 1, &cv, &why))
		TH_LOG("%s: %s", proto == IPPROTO_TCP ? "TCP" : "ESTP", why);
	if (proto != IPPROTO_TCP)
		log_conv(_metadata, "estp", &cv);
	/* TCP itself is held to the layout: the test's own check. */
	check_conv(_metadata, &ref, &ref, ts, sack, ws);
	check_conv(_metadata, &cv, &ref, ts, sack, ws);
}

/* Every option on: MSS, SACK-permitted, timestamps, window scale. */
TEST_F_TIMEOUT(wire, all_options, 120)
{
	wire_case(_metadata, self, variant->proto, true, true, true);
}

TEST_F_TIMEOUT(wire, no_timestamps, 120)
{
	wire_case(_metadata, self, variant->proto, false, true, true);
}

TEST_F_TIMEOUT(wire, no_sack, 120)
{
	wire_case(_metadata, self, variant->proto, true, false, true);
}

TEST_F_TIMEOUT(wire, no_window_scaling, 120)
{
	wire_case(_metadata, self, variant->proto, true, true, false);
}

TEST_F_TIMEOUT(wire, no_options, 120)
{
	wire_case(_metadata, self, variant->proto, false, false, false);
}

/*
 * A connection's segments leave their checksum to the device, as TCP's
 * (CHECKSUM_PARTIAL): loopback and veth carry them unchecked, so what a raw
 * socket catches holds the pseudo-header's sum only.  With the client's
 * veth's checksum offload off (ethtool -K wa0 tx off), the kernel sums
 * them in full before the device.  Both ways as TCP's, and the data
 * arrives (converse() reads it back).
 */
/* The client's segments after its SYN: whether each was summed in full. */
static void expect_summed(struct __test_metadata *_metadata, const struct conv *cv,
			  bool full, const char *who)
{
	const char *offload = full ? "off" : "on";

	EXPECT_EQ(full, cv->ack.h.csum_ok) TH_LOG("%s: ACK, offload %s", who, offload);
	EXPECT_EQ(full, cv->cdata.h.csum_ok) TH_LOG("%s: data, offload %s", who, offload);
	EXPECT_EQ(full, cv->cack.h.csum_ok) TH_LOG("%s: ACK, offload %s", who, offload);
}

TEST_F_TIMEOUT(wire, checksum_offload, 120)
{
	struct conv ref, cv;
	const char *why;
	int off;

	/* Loopback's offloads are fixed on: only veth's go off. */
	for (off = 0; off < 1 + variant->veth; off++) {
		if (off)
			ASSERT_EQ(0, estp_run("ip netns exec " NS_A
					      " ethtool -K wa0 tx off >/dev/null"));
		ASSERT_EQ(0, converse(self, IPPROTO_TCP, CPORT + 2 * off, SPORT + 2 * off,
				      &ref, &why))
			TH_LOG("TCP: %s", why);
		ASSERT_EQ(0, converse(self, variant->proto, CPORT + 2 * off + 1,
				      SPORT + 2 * off + 1, &cv, &why))
			TH_LOG("%s", why);
		expect_summed(_metadata, &ref, off, "TCP");
		expect_summed(_metadata, &cv, off, "this variant");
	}
}

/* ---------------------------------------------------------------------- */
/* The raw peer of estp_peer.h: SACK blocks, PAWS, quick ACKs. */

#define P_PORT		1100
#define P_LPORT		21990
#define P_ISN		0x11223344u
#define P_TSVAL		1000u
#define P_WS		7

FIXTURE(rawpeer)
{
	struct estp_peer p;
	struct peer_conn c;
	int lfd, afd;
	uint32_t ts_peer;	/* the listener's latest TSval */
	uint32_t ts_synack;	/* the TSval of its SYN-ACK */
	uint16_t win;		/* the window field the peer sends */
	int rcvbuf;		/* the listener's SO_RCVBUF; 0: the default */
	uint32_t synack_win;	/* the listener's window, as its SYN-ACK gave it */
	int ws;			/* the listener's window scale */
};

FIXTURE_VARIANTS_TCP_ESTP(rawpeer);

FIXTURE_SETUP(rawpeer)
{
	const char *err;

	self->lfd = self->afd = -1;
	self->win = PEER_WIN;
	err = peer_open(&self->p, variant->proto);
	ASSERT_EQ(NULL, err) TH_LOG("%s", err);
}

FIXTURE_TEARDOWN(rawpeer)
{
	estp_close_abort(&self->afd);
	estp_close_abort(&self->lfd);
	peer_close(&self->p);
}

/*
 * Sends a segment of the raw peer's connection with @opt (@optlen bytes, a
 * multiple of 4) and @len bytes of @data: 0 or -1.
 */
static int raw_send(FIXTURE_DATA(rawpeer) *self, uint32_t seq, uint8_t flags,
		    const uint8_t *opt, int optlen, const void *data, int len)
{
	uint8_t buf[20 + 40 + 1500];
	int hlen = PKT_HDR_LEN + optlen;

	memset(buf, 0, hlen);
	pkt_put16(buf, self->c.port);
	pkt_put16(buf + 2, self->c.lport);
	pkt_put32(buf + 4, seq);
	pkt_put32(buf + 8, flags & PKT_ACK ? self->c.ack : 0);
	buf[12] = (hlen / 4) << 4;
	buf[13] = flags;
	pkt_put16(buf + 14, self->win);
	memcpy(buf + PKT_HDR_LEN, opt, optlen);
	memcpy(buf + hlen, data, len);
	return peer_send_buf(&self->p, buf, hlen + len);
}

/* NOP, NOP, timestamps @tsval and the listener's latest. */
static int ts_opt(FIXTURE_DATA(rawpeer) *self, uint8_t *o, uint32_t tsval)
{
	o[0] = 1;
	o[1] = 1;
	o[2] = 8;
	o[3] = 10;
	pkt_put32(o + 4, tsval);
	pkt_put32(o + 8, self->ts_peer);
	return 12;
}

/* Data @len bytes at offset @off of the stream, with TSval @tsval (if @ts). */
static int raw_data(FIXTURE_DATA(rawpeer) *self, bool ts, uint32_t off, int len,
		    uint32_t tsval)
{
	uint8_t opt[12], data[1500];
	int i;

	for (i = 0; i < len; i++)
		data[i] = 'a' + (off + i) % 26;
	return raw_send(self, P_ISN + 1 + off, PKT_ACK | PKT_PSH, opt,
			ts ? ts_opt(self, opt, tsval) : 0, data, len);
}

static int raw_recv(FIXTURE_DATA(rawpeer) *self, int ms, struct wseg *w)
{
	int r = wseg_recv(self->p.raw, self->p.proto, self->c.lport, self->c.port, ms, w);

	if (r == 1 && w->tsval >= 0)
		self->ts_peer = w->tsval;
	return r;
}

/* The raw peer's SYN as Linux lays it out, with or without timestamps. */
static const uint8_t syn_ts[] = {
	2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 1, 3, 3, P_WS
};

static const uint8_t syn_nots[] = { 2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, P_WS };

/*
 * The first half of raw_connect(): the listener, the SYN (ISN P_ISN, TSval
 * P_TSVAL when @ts) and its SYN-ACK, asserted.  The request sock waits for
 * the final ACK.
 */
static void raw_syn(struct __test_metadata *_metadata, FIXTURE_DATA(rawpeer) *self,
		    int proto, bool ts)
{
	struct sockaddr_in sin = estp_sin4(PEER_ADDR, P_LPORT);
	char pat[128];
	struct wseg w;

	self->lfd = socket(AF_INET, SOCK_STREAM, proto);
	ASSERT_LE(0, self->lfd);
	if (self->rcvbuf)
		ASSERT_EQ(0, setsockopt(self->lfd, SOL_SOCKET, SO_RCVBUF, &self->rcvbuf,
					sizeof(self->rcvbuf)));
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(self->lfd, 4));
	memset(&self->c, 0, sizeof(self->c));
	self->c.port = P_PORT;
	self->c.lport = P_LPORT;
	self->c.seq = P_ISN + 1;
	ASSERT_EQ(0, raw_send(self, P_ISN, PKT_SYN, ts ? syn_ts : syn_nots,
			      ts ? sizeof(syn_ts) : sizeof(syn_nots), NULL, 0));
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no SYN-ACK");
	ASSERT_EQ(PKT_SYN | PKT_ACK, w.h.flags);
	ASSERT_EQ(P_ISN + 1, w.h.ack);
	syn_pattern(pat, ts, true, true, true);
	EXPECT_LAYOUT(&w, pat);
	if (ts)
		EXPECT_EQ(P_TSVAL, w.tsecr);
	self->c.ack = w.h.seq + 1;
	self->synack_win = w.h.win;
	self->ws = w.ws;
	self->ts_synack = w.tsval;
}

/*
 * The raw peer's handshake, the SYN as Linux lays it out (with timestamps
 * when @ts): MSS 1460, SACK-permitted, timestamps, window scale 7.  Asserts
 * the SYN-ACK and accepts the connection.
 */
static void raw_connect(struct __test_metadata *_metadata, FIXTURE_DATA(rawpeer) *self,
			int proto, bool ts)
{
	uint8_t opt[12];

	raw_syn(_metadata, self, proto, ts);
	/* The final ACK echoes the SYN-ACK; our clock has not moved. */
	ASSERT_EQ(0, raw_send(self, P_ISN + 1, PKT_ACK, opt, ts ? ts_opt(self, opt, P_TSVAL) : 0,
			      NULL, 0));
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
}

/* The next segment must be a pure ACK of @ack: returned in @w. */
#define EXPECT_ACK(w, ackno) do {						\
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, (w))) TH_LOG("no ACK of %u", (ackno) - P_ISN); \
	EXPECT_EQ(PKT_ACK, (w)->h.flags);					\
	EXPECT_EQ((uint32_t)(ackno) - P_ISN, (w)->h.ack - P_ISN);		\
	EXPECT_EQ(0, (w)->paylen);						\
} while (0)

static void expect_sack(struct __test_metadata *_metadata, const struct wseg *w,
			bool ts, uint32_t tsecr, int n, const uint32_t (*blocks)[2])
{
	char pat[200] = "";
	int i;

	if (ts)
		strcat(pat, TS_PATTERN " ");
	if (n)
		sprintf(pat + strlen(pat), "01 01 05 %02x", 2 + 8 * n);
	for (i = 0; i < 8 * n; i++)
		strcat(pat, " ??");
	EXPECT_LAYOUT(w, pat);
	EXPECT_EQ(5 + (ts ? 3 : 0) + (n ? 1 + 2 * n : 0), w->h.hdr_len / 4);
	if (ts)
		EXPECT_EQ(tsecr, w->tsecr);
	EXPECT_EQ(n, w->nsacks);
	for (i = 0; i < n && i < w->nsacks; i++) {
		EXPECT_EQ(blocks[i][0], w->sacks[i][0] - P_ISN - 1) TH_LOG("block %d", i);
		EXPECT_EQ(blocks[i][1], w->sacks[i][1] - P_ISN - 1) TH_LOG("block %d", i);
	}
}

/*
 * Out-of-order data is ACKed at once with a SACK block for exactly its
 * range, the newest block first (RFC 2018 4); filling the holes drops the
 * blocks below the cumulative ACK.  Offsets are from the stream's start.
 */
static void sack_case(struct __test_metadata *_metadata, FIXTURE_DATA(rawpeer) *self,
		      int proto, bool ts)
{
	static const uint32_t b1[][2] = { { 100, 200 } };
	static const uint32_t b2[][2] = { { 300, 400 }, { 100, 200 } };
	static const uint32_t b3[][2] = { { 300, 400 } };
	char buf[512];
	struct wseg w;
	int i;

	raw_connect(_metadata, self, proto, ts);
	ASSERT_EQ(0, raw_data(self, ts, 100, 100, P_TSVAL + 1));
	EXPECT_ACK(&w, P_ISN + 1);
	/* Out of order: TS.Recent stays the final ACK's (RFC 7323 4.3). */
	expect_sack(_metadata, &w, ts, P_TSVAL, 1, b1);
	ASSERT_EQ(0, raw_data(self, ts, 300, 100, P_TSVAL + 2));
	EXPECT_ACK(&w, P_ISN + 1);
	expect_sack(_metadata, &w, ts, P_TSVAL, 2, b2);
	ASSERT_EQ(0, raw_data(self, ts, 0, 100, P_TSVAL + 3));
	EXPECT_ACK(&w, P_ISN + 201);
	expect_sack(_metadata, &w, ts, P_TSVAL + 3, 1, b3);
	ASSERT_EQ(0, raw_data(self, ts, 200, 100, P_TSVAL + 4));
	EXPECT_ACK(&w, P_ISN + 401);
	expect_sack(_metadata, &w, ts, P_TSVAL + 4, 0, NULL);
	/* Nothing more: one ACK a segment. */
	EXPECT_EQ(0, raw_recv(self, QUIET_MS, &w));
	ASSERT_EQ(400, recv(self->afd, buf, 400, MSG_WAITALL));
	for (i = 0; i < 400; i++)
		if (buf[i] != 'a' + i % 26)
			break;
	EXPECT_EQ(400, i);
}

TEST_F_TIMEOUT(rawpeer, sack_blocks_ts, 60)
{
	sack_case(_metadata, self, variant->proto, true);
}

TEST_F_TIMEOUT(rawpeer, sack_blocks_no_ts, 60)
{
	sack_case(_metadata, self, variant->proto, false);
}

/*
 * Five runs out of order, each past its own hole: every ACK reports the
 * newest run first and then the runs reported most recently (RFC 2018 4:
 * "the most recently reported"), as many as fit: 3 blocks beside the
 * timestamps, 4 without (tcp_sack_new_ofo_skb keeps 4).
 */
static void sack_many_case(struct __test_metadata *_metadata, FIXTURE_DATA(rawpeer) *self,
			   int proto, bool ts)
{
	int fit = ts ? 3 : 4, i, j;
	uint32_t blocks[4][2];
	struct wseg w;

	raw_connect(_metadata, self, proto, ts);
	for (i = 0; i < 5; i++) {
		int n = i + 1 < fit ? i + 1 : fit;

		ASSERT_EQ(0, raw_data(self, ts, 100 + 200 * i, 100, P_TSVAL + 1 + i));
		EXPECT_ACK(&w, P_ISN + 1);
		for (j = 0; j < n; j++) {
			blocks[j][0] = 100 + 200 * (i - j);
			blocks[j][1] = blocks[j][0] + 100;
		}
		expect_sack(_metadata, &w, ts, P_TSVAL, n, (const uint32_t (*)[2])blocks);
	}
}

TEST_F_TIMEOUT(rawpeer, sack_blocks_many_ts, 60)
{
	sack_many_case(_metadata, self, variant->proto, true);
}

TEST_F_TIMEOUT(rawpeer, sack_blocks_many_no_ts, 60)
{
	sack_many_case(_metadata, self, variant->proto, false);
}

static long paws_count(int proto)
{
	return proto == IPPROTO_TCP ?
	       estp_proc_counter("/proc/net/netstat", "TcpExt", "PAWSEstab") :
	       estp_stat("PAWSEstab");
}

/*
 * A PAWS-rejected pure ACK below rcv_nxt: since 6.14 TCP drops it
 * unanswered and counts it in PAWSOldAck, not PAWSEstab; before, it gets
 * a dupACK as any PAWS-rejected segment.  The connection goes on.
 */
TEST_F_TIMEOUT(rawpeer, paws_old_ack, 60)
{
	int silent = estp_kernel_at_least(6, 14);
	long paws, old = 0;
	uint8_t opt[12];
	char buf[64];
	struct wseg w;
	int r;

	ASSERT_LE(0, silent);
	raw_connect(_metadata, self, variant->proto, true);
	ASSERT_EQ(0, raw_data(self, true, 0, 10, P_TSVAL + 1));
	EXPECT_ACK(&w, P_ISN + 11);
	paws = paws_count(variant->proto);
	if (silent)
		old = estp_counter(variant->proto, "PAWSOldAck");
	ASSERT_LE(0, paws);
	ASSERT_LE(0, old);
	ASSERT_EQ(0, raw_send(self, P_ISN + 1, PKT_ACK, opt, ts_opt(self, opt, P_TSVAL - 500),
			      NULL, 0));
	r = raw_recv(self, silent ? QUIET_MS : ANSWER_MS, &w);
	if (silent) {
		EXPECT_EQ(0, r) TH_LOG("answered an old ACK");
		EXPECT_EQ(paws, paws_count(variant->proto));
		EXPECT_EQ(old + 1, estp_counter(variant->proto, "PAWSOldAck"));
	} else {
		ASSERT_EQ(1, r) TH_LOG("no dupACK");
		EXPECT_EQ(PKT_ACK, w.h.flags);
		EXPECT_EQ(11u, w.h.ack - P_ISN);
		EXPECT_EQ(paws + 1, paws_count(variant->proto));
	}
	ASSERT_EQ(0, raw_data(self, true, 10, 10, P_TSVAL + 2));
	EXPECT_ACK(&w, P_ISN + 21);
	ASSERT_EQ(20, recv(self->afd, buf, sizeof(buf), MSG_DONTWAIT));
}

/*
 * Data already received, sent again with a FIN (the peer's resend after
 * our ACK was lost): the FIN is new, so it is taken (tcp_data_queue()'s
 * partial segment) and ACKed, and the reader sees the end of the stream.
 */
TEST_F_TIMEOUT(rawpeer, old_data_with_new_fin, 60)
{
	uint8_t data[10];
	char buf[64];
	struct wseg w;
	int i;

	raw_connect(_metadata, self, variant->proto, false);
	ASSERT_EQ(0, raw_data(self, false, 0, 10, 0));
	EXPECT_ACK(&w, P_ISN + 11);
	for (i = 0; i < 10; i++)
		data[i] = 'a' + i % 26;
	ASSERT_EQ(0, raw_send(self, P_ISN + 1, PKT_ACK | PKT_FIN, NULL, 0, data, 10));
	EXPECT_ACK(&w, P_ISN + 12);
	ASSERT_EQ(10, recv(self->afd, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(self->afd, buf, sizeof(buf), MSG_DONTWAIT));
}

/*
 * A SYN-ACK sent again by its request sock's timer counts in RetransSegs
 * and TCPSynRetrans (tcp_rtx_synack).
 */
TEST_F_TIMEOUT(rawpeer, synack_resend_counted, 60)
{
	long segs = estp_counter(variant->proto, "RetransSegs");
	long syn = estp_counter(variant->proto, "SynRetrans");
	struct wseg w;

	ASSERT_LE(0, segs);
	ASSERT_LE(0, syn);
	raw_syn(_metadata, self, variant->proto, true);
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no SYN-ACK again");
	EXPECT_EQ(PKT_SYN | PKT_ACK, w.h.flags);
	EXPECT_EQ(segs + 1, estp_counter(variant->proto, "RetransSegs"));
	EXPECT_EQ(syn + 1, estp_counter(variant->proto, "SynRetrans"));
}

/*
 * RFC 7323 5.3: in-order data whose TSval is older than TS.Recent is
 * dropped, counted, and answered with an ACK; the same data with a fresh
 * TSval is taken, and so is data only one tick older.
 */
TEST_F_TIMEOUT(rawpeer, paws, 60)
{
	char buf[64];
	struct wseg w;
	long before;

	raw_connect(_metadata, self, variant->proto, true);
	ASSERT_EQ(0, raw_data(self, true, 0, 10, P_TSVAL + 1));
	EXPECT_ACK(&w, P_ISN + 11);
	EXPECT_EQ(P_TSVAL + 1, w.tsecr);
	ASSERT_EQ(10, recv(self->afd, buf, sizeof(buf), 0));
	before = paws_count(variant->proto);
	ASSERT_LE(0, before);
	ASSERT_EQ(0, raw_data(self, true, 10, 10, P_TSVAL - 500));
	EXPECT_ACK(&w, P_ISN + 11);
	EXPECT_EQ(8 * 4, w.h.hdr_len);
	EXPECT_EQ(P_TSVAL + 1, w.tsecr);
	EXPECT_EQ(before + 1, paws_count(variant->proto));
	EXPECT_EQ(-1, recv(self->afd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	/* The same bytes with a TSval not older are delivered. */
	ASSERT_EQ(0, raw_data(self, true, 10, 10, P_TSVAL + 1));
	EXPECT_ACK(&w, P_ISN + 21);
	EXPECT_EQ(P_TSVAL + 1, w.tsecr);
	ASSERT_EQ(10, recv(self->afd, buf, 10, MSG_WAITALL));
	EXPECT_EQ(before + 1, paws_count(variant->proto));
	/* One tick older is forgiven (TCP_PAWS_WINDOW): reordering. */
	ASSERT_EQ(0, raw_data(self, true, 20, 10, P_TSVAL));
	EXPECT_ACK(&w, P_ISN + 31);
	ASSERT_EQ(10, recv(self->afd, buf, 10, MSG_WAITALL));
	EXPECT_EQ(before + 1, paws_count(variant->proto));
}

/*
 * The first data segments of a connection are ACKed one by one (quick-ACK
 * mode, tcp_incr_quickack): eight 1-byte segments sent back to back draw
 * eight ACKs, each for its own segment, and no more.
 */
TEST_F_TIMEOUT(rawpeer, quickack_first_segments, 60)
{
	char buf[16];
	struct wseg w;
	int i;

	raw_connect(_metadata, self, variant->proto, true);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, raw_data(self, true, i, 1, P_TSVAL + 1 + i));
	for (i = 0; i < 8; i++) {
		EXPECT_ACK(&w, P_ISN + 2 + i);
		EXPECT_EQ(P_TSVAL + 1 + i, w.tsecr);
	}
	EXPECT_EQ(0, raw_recv(self, QUIET_MS, &w));
	ASSERT_EQ(8, recv(self->afd, buf, 8, MSG_WAITALL));
}

/*
 * A small receive buffer filled with out-of-order data, and in-order data
 * waiting to be read: the segment that fills the hole is still taken (and
 * ACKed), out-of-order data making room for it (tcp_prune_ofo_queue; TCP
 * may collapse its queues instead), so that the window can move.
 */
TEST_F_TIMEOUT(rawpeer, ofo_makes_room_for_hole, 60)
{
	long drop0 = estp_stat("OfoDrop"), pruned0 = estp_stat("OfoPruned");
	uint32_t edge, off, acked = 0;
	char buf[200];
	struct wseg w;
	int i, n = 0;

	self->rcvbuf = 2048;
	raw_connect(_metadata, self, variant->proto, false);
	ASSERT_EQ(0, raw_data(self, false, 0, 100, 0));
	EXPECT_ACK(&w, P_ISN + 101);
	/* Out of order from 300 to the window's right edge, 100 bytes each. */
	edge = w.h.ack + ((uint32_t)w.h.win << self->ws) - (P_ISN + 1);
	for (off = 300; off + 100 <= edge && n < 60; off += 100, n++)
		ASSERT_EQ(0, raw_data(self, false, off, 100, 0));
	TH_LOG("window %u: %d segments out of order", edge - 100, n);
	ASSERT_LE(4, n);
	while (raw_recv(self, QUIET_MS, &w) == 1)
		;
	if (variant->proto == IPPROTO_ESTP)
		EXPECT_LT(drop0, estp_stat("OfoDrop")) TH_LOG("the buffer never filled");
	/* The next in-order segment: ACKed, up to the hole at 200. */
	ASSERT_EQ(0, raw_data(self, false, 100, 100, 0));
	for (i = 0; i < 10 && raw_recv(self, ANSWER_MS, &w) == 1; i++) {
		acked = w.h.ack - (P_ISN + 1);
		if (acked >= 200)
			break;
	}
	EXPECT_EQ(200U, acked);
	if (variant->proto == IPPROTO_ESTP)
		EXPECT_LT(pruned0, estp_stat("OfoPruned"));
	ASSERT_EQ(200, recv(self->afd, buf, sizeof(buf), MSG_WAITALL));
	for (i = 0; i < 200; i++)
		if (buf[i] != 'a' + i % 26)
			break;
	EXPECT_EQ(200, i);
}

/* An ACK of the listener's data up to @ack (from its first byte), SACKing [@s, @e) if @e. */
static int raw_ack_sack(FIXTURE_DATA(rawpeer) *self, uint32_t base, uint32_t ack,
			uint32_t s, uint32_t e)
{
	uint8_t opt[12] = { 1, 1, 5, 10 };

	self->c.ack = base + ack;
	pkt_put32(opt + 4, base + s);
	pkt_put32(opt + 8, base + e);
	return raw_send(self, P_ISN + 1, PKT_ACK, opt, e ? sizeof(opt) : 0, NULL, 0);
}

/* The next data segment the listener sends: its offset from @base, or -1. */
static long raw_next_data(FIXTURE_DATA(rawpeer) *self, uint32_t base, struct wseg *w)
{
	while (raw_recv(self, ANSWER_MS, w) == 1)
		if (w->paylen)
			return w->h.seq - base;
	return -1;
}

static long renege_count(int proto)
{
	return proto == IPPROTO_TCP ?
	       estp_proc_counter("/proc/net/netstat", "TcpExt", "TCPSACKReneging") :
	       estp_stat("SackReneging");
}

/* Recoveries entered on SACK information (TCP's TCPSackRecovery). */
static long sack_recovery_count(int proto)
{
	return proto == IPPROTO_TCP ?
	       estp_proc_counter("/proc/net/netstat", "TcpExt", "TCPSackRecovery") :
	       estp_stat("SackRecovery");
}

/* Retransmission timeouts (TCP's TCPTimeouts). */
static long timeout_count(int proto)
{
	return proto == IPPROTO_TCP ?
	       estp_proc_counter("/proc/net/netstat", "TcpExt", "TCPTimeouts") :
	       estp_stat("Timeouts");
}

/*
 * The peer SACKs the tail of a flight, then ACKs up to the start of what
 * it SACKed and no further: it dropped that data (RFC 2018 8 allows it).
 * The sender counts the renege, and on its timeout marks everything lost
 * again: both segments the peer no longer has are resent, the second as
 * soon as the first is ACKed (tcp_check_sack_reneging,
 * tcp_timeout_mark_lost).  The first resend is a SACK recovery's (RACK),
 * not the retransmission timer's: the counters of this test's netns say so.
 */
TEST_F_TIMEOUT(rawpeer, sack_reneging, 60)
{
	static const char data[3000];
	long before, off, last = 0, recoveries, timeouts;
	uint32_t base, got = 0;
	struct wseg w;
	long t0;

	raw_connect(_metadata, self, variant->proto, false);
	base = self->c.ack;
	before = renege_count(variant->proto);
	recoveries = sack_recovery_count(variant->proto);
	timeouts = timeout_count(variant->proto);
	ASSERT_LE(0, before);
	ASSERT_LE(0, recoveries);
	ASSERT_LE(0, timeouts);
	ASSERT_EQ(3000, send(self->afd, data, sizeof(data), 0));
	/* 1460 + 1460 + 80, or fewer larger ones (TCP's GSO on a veth). */
	while (got < 3000 && raw_recv(self, ANSWER_MS, &w) == 1) {
		last = w.h.seq - base;
		got += w.paylen;
	}
	ASSERT_EQ(3000U, got);
	/*
	 * The first MSS is missing, the rest SACKed: RACK resends the first.
	 * A slow guest may let the loss probe resend the last segment before
	 * the SACK arrives (its timeout is two RTTs, 10 ms at least): that
	 * copy is passed over.
	 */
	t0 = pkt_now_ms();
	ASSERT_EQ(0, raw_ack_sack(self, base, 0, 1460, 3000));
	do
		off = raw_next_data(self, base, &w);
	while (off == last && last);
	ASSERT_EQ(0, off) TH_LOG("no resend of the hole");
	TH_LOG("the hole resent %ld ms after the SACK", pkt_now_ms() - t0);
	EXPECT_EQ(recoveries + 1, sack_recovery_count(variant->proto));
	EXPECT_EQ(timeouts, timeout_count(variant->proto)) TH_LOG("resent by the RTO, not RACK");
	/* Its ACK stops where the SACKed data starts: a renege. */
	ASSERT_EQ(0, raw_ack_sack(self, base, 1460, 0, 0));
	off = raw_next_data(self, base, &w);
	ASSERT_EQ(1460, off) TH_LOG("no resend of the reneged data");
	ASSERT_EQ(0, raw_ack_sack(self, base, 1460 + w.paylen, 0, 0));
	if (w.paylen < 1540) {
		off = raw_next_data(self, base, &w);
		EXPECT_EQ(1460 + 1460, off) TH_LOG("no resend of the last segment");
	}
	EXPECT_EQ(before + 1, renege_count(variant->proto));
}

/*
 * An ACK that ends inside a segment, as from a peer that took only part of
 * it: the resend starts at that ACK, the acknowledged bytes trimmed off
 * (__tcp_retransmit_skb()'s tcp_trim_head()).  A tail loss probe may
 * resend the whole segment before the ACK arrives; those copies start at
 * the segment's first byte and are passed over, so a sender that keeps
 * resending from there never gives the segment the test waits for.
 */
TEST_F_TIMEOUT(rawpeer, partial_ack_resend, 60)
{
	char data[1000];
	uint32_t base;
	struct wseg w;
	long off;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = i % 251;
	raw_connect(_metadata, self, variant->proto, false);
	base = self->c.ack;
	ASSERT_EQ(1000, send(self->afd, data, sizeof(data), 0));
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no data");
	ASSERT_EQ(1000, w.paylen);
	ASSERT_EQ(0, raw_ack_sack(self, base, 400, 0, 0));
	do
		off = raw_next_data(self, base, &w);
	while (off == 0 && w.paylen == 1000);
	ASSERT_EQ(400, off) TH_LOG("the resend does not start at the ACK");
	EXPECT_EQ(600, w.paylen);
	EXPECT_EQ(0, memcmp(w.payload, data + 400, sizeof(w.payload)));
	ASSERT_EQ(0, raw_ack_sack(self, base, 1000, 0, 0));
}

/*
 * The peer's window shrinks below one segment while nothing is in flight:
 * the sender waits for the persist timer, whose probe carries as much of
 * the next segment as the window takes (tcp_write_wakeup splits it).
 * Only then may the peer announce more; a bare window probe would wait
 * for ever, the peer having no reason to speak.
 */
TEST_F_TIMEOUT(rawpeer, persist_probe_fills_small_window, 60)
{
	static const char first[1000], rest[3000];
	uint32_t pseq = P_ISN + 1, tsval = P_TSVAL;	/* the peer sends no data */
	uint8_t opt[12];
	struct wseg w;

	raw_connect(_metadata, self, variant->proto, true);
	ASSERT_EQ(1000, send(self->afd, first, sizeof(first), 0));
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no data");
	ASSERT_EQ(1000, w.paylen);
	self->c.ack = w.h.seq + w.paylen;
	/* 4 << 7 = 512 bytes: less than the 1448 of a segment. */
	self->win = 4;
	ASSERT_EQ(0, raw_send(self, pseq, PKT_ACK, opt, ts_opt(self, opt, ++tsval), NULL, 0));
	ASSERT_EQ(3000, send(self->afd, rest, sizeof(rest), 0));
	/* The persist timer runs an RTO, at least 200 ms; then the probe. */
	ASSERT_EQ(1, raw_recv(self, 3 * ANSWER_MS, &w)) TH_LOG("no probe");
	EXPECT_EQ(self->c.ack, w.h.seq);
	EXPECT_EQ(512, w.paylen);
	/* The window opens: the rest follows, in order. */
	self->c.ack = w.h.seq + w.paylen;
	self->win = PEER_WIN;
	ASSERT_EQ(0, raw_send(self, pseq, PKT_ACK, opt, ts_opt(self, opt, ++tsval), NULL, 0));
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("nothing after the probe");
	EXPECT_EQ(self->c.ack, w.h.seq);
	EXPECT_LT(0, w.paylen);
}

/* ---------------------------------------------------------------------- */
/* RFC 5961 5.2 and ACK loops: what an in-window segment with a bad ACK may take. */

static long challenge_count(int proto)
{
	return proto == IPPROTO_TCP ?
	       estp_proc_counter("/proc/net/netstat", "TcpExt", "TCPChallengeACK") :
	       estp_stat("ChallengeACK");
}

/* Data at offset @off with the ACK field @ack instead of the listener's next. */
static int raw_data_ack(FIXTURE_DATA(rawpeer) *self, bool ts, uint32_t off, int len,
			uint32_t tsval, uint32_t ack)
{
	uint32_t real = self->c.ack;
	int ret;

	self->c.ack = ack;
	ret = raw_data(self, ts, off, len, tsval);
	self->c.ack = real;
	return ret;
}

/*
 * In-window data whose ACK is older than snd_una by more than the peer's
 * largest window (RFC 5961 5.2, tcp_ack): a challenge ACK, and the segment
 * is gone whole: no byte for recv(), TS.Recent unchanged.  The same bytes
 * with a good ACK are taken.
 */
static void too_old_ack(struct __test_metadata *_metadata, FIXTURE_DATA(rawpeer) *self,
			int proto)
{
	char buf[64];
	struct wseg w;
	long before;

	raw_connect(_metadata, self, proto, true);
	before = challenge_count(proto);
	ASSERT_LE(0, before);
	ASSERT_EQ(0, raw_data_ack(self, true, 0, 10, P_TSVAL + 1, self->c.ack - 0x40000000u));
	EXPECT_ACK(&w, P_ISN + 1);
	EXPECT_EQ(P_TSVAL, w.tsecr);
	EXPECT_EQ(before + 1, challenge_count(proto));
	EXPECT_EQ(-1, recv(self->afd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, raw_data(self, true, 0, 10, P_TSVAL + 2));
	EXPECT_ACK(&w, P_ISN + 11);
	EXPECT_EQ(P_TSVAL + 2, w.tsecr);
	ASSERT_EQ(10, recv(self->afd, buf, sizeof(buf), MSG_DONTWAIT));
}

TEST_F_TIMEOUT(rawpeer, too_old_ack_challenged, 60)
{
	too_old_ack(_metadata, self, variant->proto);
}

/*
 * The same with the netns's challenge ACK budget at INT_MAX - 1 a second:
 * TCP draws each second's budget in u32 and still answers; ESTP's int
 * overflowed to a negative budget and never answered (review M4, part C).
 * The fixture's netns is the test's own.
 */
TEST_F_TIMEOUT(rawpeer, challenge_ack_limit_near_int_max, 60)
{
	ASSERT_EQ(0, estp_sysctl_set(variant->proto == IPPROTO_TCP ?
				     "/proc/sys/net/ipv4/tcp_challenge_ack_limit" :
				     "/proc/sys/net/estp/challenge_ack_limit", "2147483646"));
	too_old_ack(_metadata, self, variant->proto);
}

/*
 * PAWS poisoning: an in-window pure ACK with a TSval 2^31 - 1 ahead and an
 * ACK of data never sent.  ESTABLISHED drops it silently (tcp_ack's
 * ACK_UNSENT_DATA), before TS.Recent: the next real segment passes PAWS,
 * and its ACK is the first segment on the wire.
 */
TEST_F_TIMEOUT(rawpeer, paws_poison_unsent_ack, 60)
{
	uint8_t opt[12];
	char buf[64];
	struct wseg w;
	uint32_t ack;

	raw_connect(_metadata, self, variant->proto, true);
	ASSERT_EQ(0, raw_data(self, true, 0, 10, P_TSVAL + 1));
	EXPECT_ACK(&w, P_ISN + 11);
	ack = self->c.ack;
	self->c.ack += 100000;
	ASSERT_EQ(0, raw_send(self, P_ISN + 11, PKT_ACK, opt,
			      ts_opt(self, opt, P_TSVAL + 1 + 0x7fffffffu), NULL, 0));
	self->c.ack = ack;
	ASSERT_EQ(0, raw_data(self, true, 10, 10, P_TSVAL + 2));
	/*
	 * TCP on 7.x answers the ACK of unsent data with one (rate-limited)
	 * ACK of what it has, TS.Recent untouched; 6.1 and 6.12 stay silent,
	 * as ESTP does.  Either way the real segment is then acknowledged.
	 */
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no ACK");
	if (variant->proto == IPPROTO_TCP && w.h.ack - P_ISN == 11) {
		EXPECT_EQ(P_TSVAL + 1, w.tsecr);
		ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no ACK of 21");
	}
	EXPECT_EQ(PKT_ACK, w.h.flags);
	EXPECT_EQ(21u, w.h.ack - P_ISN);
	EXPECT_EQ(0, w.paylen);
	EXPECT_EQ(P_TSVAL + 2, w.tsecr);
	ASSERT_EQ(20, recv(self->afd, buf, sizeof(buf), MSG_DONTWAIT));
}

/* Keeps this thread on one CPU: loopback then delivers in sending order. */
static int pin_cpu(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (int i = 0; i < CPU_SETSIZE; i++) {
		if (CPU_ISSET(i, &set)) {
			CPU_ZERO(&set);
			CPU_SET(i, &set);
			return sched_setaffinity(0, sizeof(set), &set);
		}
	}
	return -1;
}

/*
 * Ten pure ACKs wholly before the window draw one dupACK in
 * invalid_ratelimit, not ten (tcp_oow_rate_limited: the ACK-loop
 * mitigation).  An in-order byte after them is ACKed at once and closes
 * the count: the ACKs before it answer the ten.
 */
TEST_F_TIMEOUT(rawpeer, oow_acks_rate_limited, 60)
{
	int i, acks = 0, oow = 0;
	struct wseg w;
	char buf[4];

	ASSERT_EQ(0, pin_cpu());
	ASSERT_EQ(0, peer_sysctl(variant->proto == IPPROTO_TCP ?
				 "/proc/sys/net/ipv4/tcp_invalid_ratelimit" :
				 "/proc/sys/net/estp/invalid_ratelimit", NULL, 0, "60000"));
	raw_connect(_metadata, self, variant->proto, false);
	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, raw_send(self, P_ISN + 1 - 100000, PKT_ACK, NULL, 0, NULL, 0));
	ASSERT_EQ(0, raw_data(self, false, 0, 1, 0));
	while (raw_recv(self, ANSWER_MS, &w) == 1) {
		acks++;
		if (w.h.ack == P_ISN + 2)
			break;
		EXPECT_EQ(P_ISN + 1, w.h.ack);
		oow++;
	}
	EXPECT_EQ(P_ISN + 2, w.h.ack) TH_LOG("no ACK of the byte");
	TH_LOG("%d ACKs to 10 out-of-window ACKs", oow);
	EXPECT_EQ(1, oow);
	ASSERT_EQ(1, recv(self->afd, buf, sizeof(buf), MSG_DONTWAIT));
}

/*
 * Our FIN acknowledged by the segment that carries the peer's FIN, after
 * close(): the orphan keeps the full sock for that FIN (tcp_rcv_state_process,
 * FIN_WAIT1: "We could lose such FIN otherwise"), ACKs it at once and waits
 * in TIME_WAIT.
 */
TEST_F_TIMEOUT(rawpeer, fin_acked_with_peer_fin, 60)
{
	struct wseg w;

	raw_connect(_metadata, self, variant->proto, false);
	ASSERT_EQ(0, close(self->afd));
	self->afd = -1;
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no FIN");
	ASSERT_EQ(PKT_FIN | PKT_ACK, w.h.flags);
	ASSERT_EQ(self->c.ack, w.h.seq);
	self->c.ack = w.h.seq + 1;
	ASSERT_EQ(0, raw_send(self, P_ISN + 1, PKT_FIN | PKT_ACK, NULL, 0, NULL, 0));
	EXPECT_ACK(&w, P_ISN + 2);
	EXPECT_EQ(self->c.ack, w.h.seq);
	EXPECT_EQ(6, peer_state(variant->proto, P_LPORT, P_PORT)) TH_LOG("not TIME_WAIT");
}

/*
 * The raw peer's lo makes one-segment packets (gso_max_segs 1): TCP then
 * sends what ESTP sends, segment by segment, where a GSO packet would
 * otherwise carry a whole write.  Before the listener exists: its
 * children take the device's limits when they are made.
 */
static void one_segment_packets(struct __test_metadata *_metadata)
{
	ASSERT_EQ(0, estp_run("ip link set dev lo gso_max_segs 1"));
}

/*
 * The next @n segments carry @lens bytes each, with PSH on those of @psh
 * (the listener's segments carry timestamps; the peer's ACK of them does
 * not need to).
 */
static void expect_segments(struct __test_metadata *_metadata, FIXTURE_DATA(rawpeer) *self,
			    int n, const int *lens, const bool *psh)
{
	uint32_t seq = self->c.ack;
	struct wseg w;
	int i;

	for (i = 0; i < n; i++) {
		ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no segment %d", i);
		EXPECT_EQ(seq - P_ISN, w.h.seq - P_ISN);
		EXPECT_EQ(lens[i], w.paylen) TH_LOG("segment %d", i);
		EXPECT_EQ(PKT_ACK | (psh[i] ? PKT_PSH : 0), w.h.flags) TH_LOG("segment %d", i);
		seq = w.h.seq + w.paylen;
	}
	/* Acknowledged before a loss probe resends the last of them. */
	self->c.ack = seq;
	ASSERT_EQ(0, raw_send(self, P_ISN + 1, PKT_ACK, NULL, 0, NULL, 0));
}

/*
 * PSH marks the end of a write, not every segment (tcp_push,
 * tcp_mark_push): a 5000-byte write goes as three full segments without
 * it and the rest with it.
 */
TEST_F_TIMEOUT(rawpeer, psh_ends_write, 60)
{
	static const int lens[] = { 1448, 1448, 1448, 656 };
	static const bool psh[] = { false, false, false, true };
	static const char data[5000];

	one_segment_packets(_metadata);
	raw_connect(_metadata, self, variant->proto, true);
	ASSERT_EQ(5000, send(self->afd, data, sizeof(data), 0));
	expect_segments(_metadata, self, 4, lens, psh);
}

/*
 * Data written with MSG_EOR ends a segment: the next write never joins
 * it, though both are held by a cork and released together (the tail's
 * eor mark, tcp_skb_can_collapse_to()).  Each write ends with PSH.  No
 * Nagle: the second, short, segment need not wait for the first's ACK.
 */
TEST_F_TIMEOUT(rawpeer, msg_eor_ends_segment, 60)
{
	static const int lens[] = { 800, 200 };
	static const bool psh[] = { true, true };
	static const char data[800];
	int one = 1, zero = 0;

	one_segment_packets(_metadata);
	raw_connect(_metadata, self, variant->proto, true);
	ASSERT_EQ(0, setsockopt(self->afd, IPPROTO_TCP, ESTP_NODELAY, &one, sizeof(one)));
	ASSERT_EQ(0, setsockopt(self->afd, IPPROTO_TCP, ESTP_CORK, &one, sizeof(one)));
	ASSERT_EQ(800, send(self->afd, data, 800, MSG_EOR));
	ASSERT_EQ(200, send(self->afd, data, 200, 0));
	ASSERT_EQ(0, setsockopt(self->afd, IPPROTO_TCP, ESTP_CORK, &zero, sizeof(zero)));
	expect_segments(_metadata, self, 2, lens, psh);
}

/*
 * A tail loss probe resends the last segment sent (tcp_send_loss_probe):
 * after a write and shutdown() with nothing acknowledged, that is the
 * FIN alone, not the data before it.
 */
TEST_F_TIMEOUT(rawpeer, loss_probe_resends_fin, 60)
{
	static const char data[10000];
	uint32_t fin_seq = 0;
	struct wseg w;
	int i;

	one_segment_packets(_metadata);
	raw_connect(_metadata, self, variant->proto, true);
	ASSERT_EQ(10000, send(self->afd, data, sizeof(data), 0));
	ASSERT_EQ(0, shutdown(self->afd, SHUT_WR));
	for (i = 0; i < 8 && !fin_seq; i++) {
		ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no FIN");
		if (w.h.flags & PKT_FIN)
			fin_seq = w.h.seq + w.paylen;
	}
	ASSERT_NE(0u, fin_seq) TH_LOG("no FIN after the data");
	EXPECT_EQ((uint32_t)(self->c.ack + sizeof(data) - P_ISN), fin_seq - P_ISN);
	/* The probe comes at two round trips; the RTO later would resend the first segment. */
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no probe");
	EXPECT_EQ(PKT_FIN | PKT_ACK, w.h.flags);
	EXPECT_EQ(0, w.paylen);
	EXPECT_EQ(fin_seq - P_ISN, w.h.seq - P_ISN);
}

/*
 * A FIN alone in flight is probed as a segment would be: sent again once
 * by the tail loss probe, at the latest when the RTO would fire
 * (tcp_schedule_loss_probe() counts the FIN's skb in packets_out and
 * takes the earlier of the probe timeout and the RTO): LossProbes counts it.
 */
TEST_F_TIMEOUT(rawpeer, loss_probe_lone_fin, 60)
{
	long probes = estp_counter(variant->proto, "LossProbes");
	struct wseg w;

	ASSERT_LE(0, probes);
	raw_connect(_metadata, self, variant->proto, true);
	ASSERT_EQ(0, shutdown(self->afd, SHUT_WR));
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no FIN");
	ASSERT_EQ(PKT_FIN | PKT_ACK, w.h.flags);
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no FIN again");
	EXPECT_EQ(PKT_FIN | PKT_ACK, w.h.flags);
	EXPECT_EQ(self->c.ack - P_ISN, w.h.seq - P_ISN);
	EXPECT_EQ(probes + 1, estp_counter(variant->proto, "LossProbes"));
}

/*
 * Issue 11, item 6: the first resend of a passive opener's FIN after a
 * 100 ms handshake round trip without timestamps.  The SYN-ACK's RTT is
 * the only sample, so SRTT 100 ms and RTTVAR 50 ms give an RTO of 300 ms,
 * and the loss probe of a lone segment (2 SRTT + 200 ms) comes no later:
 * TCP resends at 300 ms, not at the initial 1 s.  With TCP_USER_TIMEOUT on
 * the listener (@uto_ms, inherited) the RTO is clamped to what is left of
 * it, never lengthened.  Bounds leave TCG's tens of ms of jitter.
 */
static void passive_fin_rto(struct __test_metadata *_metadata,
			    FIXTURE_DATA(rawpeer) *self, int proto, int uto_ms)
{
	struct timespec rtt = { .tv_nsec = 100 * 1000 * 1000 };
	long sent, gap;
	struct wseg w;

	raw_syn(_metadata, self, proto, false);
	if (uto_ms)
		ASSERT_EQ(0, setsockopt(self->lfd, IPPROTO_TCP, ESTP_USER_TIMEOUT, &uto_ms,
					sizeof(uto_ms)));
	/* The round trip is this test's input, not a wait for an event. */
	nanosleep(&rtt, NULL);
	ASSERT_EQ(0, raw_send(self, P_ISN + 1, PKT_ACK, NULL, 0, NULL, 0));
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
	ASSERT_EQ(0, shutdown(self->afd, SHUT_WR));
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no FIN");
	ASSERT_EQ(PKT_FIN | PKT_ACK, w.h.flags);
	sent = pkt_now_ms();
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no FIN again");
	gap = pkt_now_ms() - sent;
	EXPECT_EQ(PKT_FIN | PKT_ACK, w.h.flags);
	TH_LOG("FIN resent after %ld ms", gap);
	EXPECT_LE(250, gap);
	EXPECT_GE(500, gap);
}

TEST_F_TIMEOUT(rawpeer, passive_fin_rto_from_synack, 60)
{
	passive_fin_rto(_metadata, self, variant->proto, 0);
}

TEST_F_TIMEOUT(rawpeer, passive_fin_rto_user_timeout, 60)
{
	passive_fin_rto(_metadata, self, variant->proto, 10000);
}

/*
 * The ACK of our FIN stops the retransmit timer only (tcp_ack): a delayed
 * ACK owed for data taken just before still goes out.
 */
TEST_F_TIMEOUT(rawpeer, fin_acked_keeps_delayed_ack, 60)
{
	int zero = 0;
	struct wseg w;
	uint32_t fin;

	raw_connect(_metadata, self, variant->proto, false);
	/* TCP_QUICKACK, ESTP_QUICKACK: 0 delays ACKs. */
	ASSERT_EQ(0, setsockopt(self->afd, variant->proto, 12, &zero, sizeof(zero)));
	ASSERT_EQ(0, shutdown(self->afd, SHUT_WR));
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no FIN");
	ASSERT_EQ(PKT_FIN | PKT_ACK, w.h.flags);
	fin = w.h.seq;
	/* A byte, whose ACK waits, then the ACK of the FIN. */
	ASSERT_EQ(0, raw_data(self, false, 0, 1, 0));
	self->c.ack = fin + 1;
	ASSERT_EQ(0, raw_send(self, P_ISN + 2, PKT_ACK, NULL, 0, NULL, 0));
	EXPECT_ACK(&w, P_ISN + 2);
}

/*
 * A second FIN at rcv_nxt in CLOSE_WAIT is nothing new
 * (tcp_rcv_state_process): the data sent next still ACKs the first FIN
 * only, not a byte the peer never sent.
 */
TEST_F_TIMEOUT(rawpeer, second_fin_in_close_wait, 60)
{
	struct wseg w;

	raw_connect(_metadata, self, variant->proto, false);
	ASSERT_EQ(0, raw_send(self, P_ISN + 1, PKT_FIN | PKT_ACK, NULL, 0, NULL, 0));
	EXPECT_ACK(&w, P_ISN + 2);
	ASSERT_EQ(0, raw_send(self, P_ISN + 2, PKT_FIN | PKT_ACK, NULL, 0, NULL, 0));
	ASSERT_EQ(1, send(self->afd, "x", 1, 0));
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no data");
	EXPECT_EQ(1, w.paylen);
	EXPECT_EQ(P_ISN + 2, w.h.ack);
}

/*
 * After shutdown(SHUT_WR), the peer's FIN before it ACKs ours (FIN_WAIT1 ->
 * CLOSING) wakes a reader: epoll, armed before, reports EPOLLIN|EPOLLRDHUP
 * (tcp_fin's sk_state_change), and recv() reads EOF.
 */
TEST_F_TIMEOUT(rawpeer, fin_in_fin_wait1_wakes_reader, 60)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	struct wseg w;
	char buf[4];
	int ep;

	raw_connect(_metadata, self, variant->proto, false);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->afd, &ev));
	ASSERT_EQ(0, shutdown(self->afd, SHUT_WR));
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no FIN");
	ASSERT_EQ(PKT_FIN | PKT_ACK, w.h.flags);
	/* shutdown() woke it: nothing to read yet, and no wakeup left over. */
	ASSERT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	/* Our FIN stays unacknowledged: the ACK field is the SYN-ACK's. */
	ASSERT_EQ(0, raw_send(self, P_ISN + 1, PKT_FIN | PKT_ACK, NULL, 0, NULL, 0));
	EXPECT_ACK(&w, P_ISN + 2);
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, ANSWER_MS)) TH_LOG("reader not woken");
	EXPECT_NE(0U, ev.events & EPOLLRDHUP);
	EXPECT_EQ(0, recv(self->afd, buf, sizeof(buf), MSG_DONTWAIT));
	close(ep);
}

/* ---------------------------------------------------------------------- */
/*
 * A request sock (SYN_RECV, no full sock yet) and what tcp_check_req()
 * answers: retransmitted SYNs, SYNs of another ISN, RSTs, a final ACK that
 * PAWS rejects.  The listener's ACKs carry the SYN-ACK's sequence space.
 */

/*
 * A request's ACKs take the TOS of the segment they answer
 * (tcp_v4_reqsk_send_ack()), the raw peer's mark, and so do the stack's
 * RSTs to them, which the filter of estp_peer.h then lets through, exact
 * RSTs that would end the request.  This drops every RST from the raw
 * peer's ports with no other flag: the raw peer's own RSTs carry ACK.
 */
#define BARE_RST_FILTER	"tc filter add dev lo parent 1: prio 2 protocol ip u32"	\
			" match ip protocol %d 0xff match u8 0x45 0xff at 0"	\
			" match u16 0x0000 0xc000 at 20 match u8 0x04 0xff at 33 action drop"

static void drop_bare_rsts(struct __test_metadata *_metadata, int proto)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "exec >/dev/null 2>&1; " BARE_RST_FILTER, proto);
	ASSERT_EQ(0, system(cmd));
}

/* The out-of-window ACK rate limit, 60 s: it never runs out within a case. */
static void slow_oow_limit(struct __test_metadata *_metadata, int proto)
{
	ASSERT_EQ(0, peer_sysctl(proto == IPPROTO_TCP ?
				 "/proc/sys/net/ipv4/tcp_invalid_ratelimit" :
				 "/proc/sys/net/estp/invalid_ratelimit", NULL, 0, "60000"));
}

/*
 * The final ACK with one data byte and TSval @tsval: a child takes it and
 * ACKs it at once (the first data is quick-ACKed).  Every segment the
 * listener sends before that ACK is counted in *@synacks when it is the
 * SYN-ACK again, in *@acks when it is a pure ACK of the SYN (as
 * tcp_v4_reqsk_send_ack() sends one), and fails the case otherwise.  The
 * thread is pinned: lo delivers in sending order, so those segments
 * answer what was sent before the final ACK.
 */
static void final_ack_closes_count(struct __test_metadata *_metadata,
				   FIXTURE_DATA(rawpeer) *self, uint32_t tsval,
				   int *synacks, int *acks)
{
	uint8_t opt[12];
	struct wseg w;
	char buf[4];

	*synacks = *acks = 0;
	/*
	 * Echo the SYN-ACK's TSval: TCP on 7.x drops a final ACK whose TSecr
	 * is not the TSval of a SYN-ACK it sent.
	 */
	self->ts_peer = self->ts_synack;
	ASSERT_EQ(0, raw_send(self, P_ISN + 1, PKT_ACK | PKT_PSH, opt, ts_opt(self, opt, tsval),
			      "x", 1));
	while (raw_recv(self, ANSWER_MS, &w) == 1) {
		if (w.h.flags == PKT_ACK && w.h.ack == P_ISN + 2)
			break;
		if (w.h.flags == (PKT_SYN | PKT_ACK)) {
			EXPECT_EQ(self->c.ack - 1, w.h.seq);
			(*synacks)++;
		} else {
			EXPECT_EQ(PKT_ACK, w.h.flags);
			EXPECT_EQ(self->c.ack, w.h.seq);
			(*acks)++;
		}
		EXPECT_EQ(P_ISN + 1, w.h.ack);
		EXPECT_EQ(P_TSVAL, w.tsecr);
	}
	ASSERT_EQ(P_ISN + 2, w.h.ack) TH_LOG("no ACK of the byte");
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
	ASSERT_EQ(1, recv(self->afd, buf, sizeof(buf), MSG_DONTWAIT));
}

/* The next segment must be a request's ACK (tcp_v4_reqsk_send_ack). */
static void expect_reqsk_ack(struct __test_metadata *_metadata, FIXTURE_DATA(rawpeer) *self,
			     const char *what)
{
	struct wseg w;

	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no %s", what);
	EXPECT_EQ(PKT_ACK, w.h.flags);
	EXPECT_EQ(self->c.ack, w.h.seq);
	EXPECT_EQ(P_ISN + 1, w.h.ack);
	EXPECT_EQ(P_TSVAL, w.tsecr);
}

/*
 * A request sock, then @n SYNs with ISN @isn back to back, then the final
 * ACK: the SYN-ACKs and ACKs they drew (final_ack_closes_count()), and in
 * *@skipped the rise of ACKSkippedSynRecv.
 */
static void syn_burst(struct __test_metadata *_metadata, FIXTURE_DATA(rawpeer) *self,
		      int proto, uint32_t isn, int n, int *synacks, int *acks, long *skipped)
{
	long before;
	int i;

	ASSERT_EQ(0, pin_cpu());
	slow_oow_limit(_metadata, proto);
	drop_bare_rsts(_metadata, proto);
	raw_syn(_metadata, self, proto, true);
	before = estp_counter(proto, "ACKSkippedSynRecv");
	EXPECT_LE(0, before);
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, raw_send(self, isn, PKT_SYN, syn_ts, sizeof(syn_ts), NULL, 0));
	/* Whatever they drew, the request is still there. */
	EXPECT_EQ(1, peer_rows(proto, P_LPORT, P_PORT, PEER_ST_SYN_RECV, NULL));
	final_ack_closes_count(_metadata, self, P_TSVAL, synacks, acks);
	*skipped = estp_counter(proto, "ACKSkippedSynRecv") - before;
}

/*
 * The same SYN five times in a row (the peer lost our SYN-ACK, or is
 * impatient): one SYN-ACK answers them, the other four are counted
 * (tcp_check_req: tcp_oow_rate_limited(), TCPACKSkippedSynRecv; review M6
 * of part A: ESTP sent five).
 */
TEST_F_TIMEOUT(rawpeer, reqsk_syn_retransmit_rate_limited, 60)
{
	int synacks, acks;
	long skipped;

	syn_burst(_metadata, self, variant->proto, P_ISN, 5, &synacks, &acks, &skipped);
	EXPECT_EQ(1, synacks);
	EXPECT_EQ(0, acks);
	EXPECT_EQ(4, skipped);
}

/*
 * A SYN with another ISN inside the window of the SYN-ACK (RFC 9293
 * 3.10.7.4, "fourth, check the SYN bit"): a RST answers it and the request
 * is gone (tcp_check_req's embryonic_reset: AttemptFails, EmbryonicRsts).
 * ESTP ignored it for the request's whole life (review M6 of part A).
 */
TEST_F_TIMEOUT(rawpeer, reqsk_new_syn_in_window_resets, 60)
{
	long fails, rsts;
	struct wseg w;

	drop_bare_rsts(_metadata, variant->proto);
	raw_syn(_metadata, self, variant->proto, false);
	ASSERT_EQ(1, peer_rows(variant->proto, P_LPORT, P_PORT, PEER_ST_SYN_RECV, NULL));
	fails = estp_counter(variant->proto, "AttemptFails");
	rsts = estp_counter(variant->proto, "EmbryonicRsts");
	EXPECT_LE(0, fails);
	EXPECT_LE(0, rsts);
	ASSERT_EQ(0, raw_send(self, P_ISN + 1000, PKT_SYN, syn_nots, sizeof(syn_nots), NULL, 0));
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no RST");
	EXPECT_EQ(PKT_RST | PKT_ACK, w.h.flags);
	EXPECT_EQ(0u, w.h.seq);
	EXPECT_EQ(P_ISN + 1001, w.h.ack);
	EXPECT_EQ(0, peer_wait_rows(variant->proto, P_LPORT, P_PORT, -1, 0, ANSWER_MS));
	EXPECT_EQ(fails + 1, estp_counter(variant->proto, "AttemptFails"));
	EXPECT_EQ(rsts + 1, estp_counter(variant->proto, "EmbryonicRsts"));
	/* The old handshake's final ACK finds no request: a RST. */
	ASSERT_EQ(0, raw_send(self, P_ISN + 1, PKT_ACK, NULL, 0, NULL, 0));
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no RST to the ACK");
	EXPECT_EQ(PKT_RST, w.h.flags);
	EXPECT_EQ(self->c.ack, w.h.seq);
}

/*
 * A SYN with another ISN outside the window (here, before it): an ACK of
 * what the request has, rate-limited (tcp_check_req: out of window), and
 * the request lives on: the real final ACK completes it.
 */
TEST_F_TIMEOUT(rawpeer, reqsk_new_syn_out_of_window_acked, 60)
{
	int synacks, acks;
	long skipped;

	syn_burst(_metadata, self, variant->proto, P_ISN - 100000, 3, &synacks, &acks, &skipped);
	EXPECT_EQ(0, synacks);
	EXPECT_EQ(1, acks);
	EXPECT_EQ(2, skipped);
}

/*
 * RSTs for a request (RFC 5961 3.2, as tcp_check_req; RST|ACK: the ACK
 * field is not checked with RST): one outside the window is dropped, one
 * inside it but not at its left edge draws a challenge ACK, the exact one
 * ends the request silently (AttemptFails, EmbryonicRsts).
 */
TEST_F_TIMEOUT(rawpeer, reqsk_rst, 60)
{
	long fails, rsts, ch;
	struct wseg w;

	drop_bare_rsts(_metadata, variant->proto);
	raw_syn(_metadata, self, variant->proto, true);
	fails = estp_counter(variant->proto, "AttemptFails");
	rsts = estp_counter(variant->proto, "EmbryonicRsts");
	ch = estp_counter(variant->proto, "ChallengeACK");
	EXPECT_LE(0, fails);
	EXPECT_LE(0, rsts);
	EXPECT_LE(0, ch);
	ASSERT_EQ(0, raw_send(self, P_ISN + 1 + 0x40000000, PKT_RST | PKT_ACK, NULL, 0, NULL, 0));
	ASSERT_EQ(0, raw_send(self, P_ISN + 2, PKT_RST | PKT_ACK, NULL, 0, NULL, 0));
	expect_reqsk_ack(_metadata, self, "challenge ACK");
	EXPECT_EQ(ch + 1, estp_counter(variant->proto, "ChallengeACK"));
	EXPECT_EQ(1, peer_rows(variant->proto, P_LPORT, P_PORT, PEER_ST_SYN_RECV, NULL));
	ASSERT_EQ(0, raw_send(self, P_ISN + 1, PKT_RST | PKT_ACK, NULL, 0, NULL, 0));
	EXPECT_EQ(0, peer_wait_rows(variant->proto, P_LPORT, P_PORT, -1, 0, ANSWER_MS));
	EXPECT_EQ(0, raw_recv(self, QUIET_MS, &w));
	EXPECT_EQ(fails + 1, estp_counter(variant->proto, "AttemptFails"));
	EXPECT_EQ(rsts + 1, estp_counter(variant->proto, "EmbryonicRsts"));
}

/*
 * The final ACK with a TSval older than the SYN's (RFC 7323 5.3): PAWS
 * rejects it before any child exists (tcp_check_req: PAWSEstab, an ACK
 * back); the request's timer sends the SYN-ACK again, and a final ACK with
 * a fresh TSval completes it.  ESTP made the child first, which dropped the
 * ACK, and no SYN-ACK ever came again.
 */
TEST_F_TIMEOUT(rawpeer, reqsk_paws_final_ack, 60)
{
	int synacks, acks;
	uint8_t opt[12];
	struct wseg w;
	long paws;

	ASSERT_EQ(0, pin_cpu());
	drop_bare_rsts(_metadata, variant->proto);
	raw_syn(_metadata, self, variant->proto, true);
	paws = estp_counter(variant->proto, "PAWSEstab");
	EXPECT_LE(0, paws);
	ASSERT_EQ(0, raw_send(self, P_ISN + 1, PKT_ACK, opt, ts_opt(self, opt, P_TSVAL - 500),
			      NULL, 0));
	expect_reqsk_ack(_metadata, self, "ACK");
	EXPECT_EQ(paws + 1, estp_counter(variant->proto, "PAWSEstab"));
	EXPECT_EQ(1, peer_rows(variant->proto, P_LPORT, P_PORT, PEER_ST_SYN_RECV, NULL));
	EXPECT_EQ(0, peer_rows(variant->proto, P_LPORT, P_PORT, PEER_ST_ESTABLISHED, NULL));
	/* Still a request: its timer sends the SYN-ACK again (a child would not). */
	ASSERT_EQ(1, raw_recv(self, 2 * ANSWER_MS, &w)) TH_LOG("no SYN-ACK from the timer");
	EXPECT_EQ(PKT_SYN | PKT_ACK, w.h.flags);
	EXPECT_EQ(self->c.ack - 1, w.h.seq);
	final_ack_closes_count(_metadata, self, P_TSVAL, &synacks, &acks);
	EXPECT_EQ(0, synacks);
	EXPECT_EQ(0, acks);
	EXPECT_EQ(paws + 1, estp_counter(variant->proto, "PAWSEstab"));
}

/*
 * A simultaneous open (RFC 9293 3.5) with the raw peer: our connect()'s
 * SYN crosses the raw peer's SYN (ISN P_ISN), and our socket, in
 * SYN_RECV, answers with its SYN again, now with an ACK.  The raw peer
 * never acknowledges it.  Returns our ISN.
 */
static uint32_t raw_simopen(struct __test_metadata *_metadata, FIXTURE_DATA(rawpeer) *self,
			    int proto)
{
	struct sockaddr_in sin = estp_sin4(PEER_ADDR, P_LPORT);
	struct sockaddr_in dst = estp_sin4(PEER_ADDR, P_PORT);
	struct wseg w;
	uint32_t iss;

	self->afd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, proto);
	EXPECT_LE(0, self->afd);
	if (self->afd < 0)
		return 0;
	EXPECT_EQ(0, bind(self->afd, (struct sockaddr *)&sin, sizeof(sin)));
	memset(&self->c, 0, sizeof(self->c));
	self->c.port = P_PORT;
	self->c.lport = P_LPORT;
	EXPECT_EQ(-1, connect(self->afd, (struct sockaddr *)&dst, sizeof(dst)));
	EXPECT_EQ(EINPROGRESS, errno);
	EXPECT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no SYN");
	EXPECT_EQ(PKT_SYN, w.h.flags);
	iss = w.h.seq;
	self->c.seq = P_ISN + 1;
	EXPECT_EQ(0, raw_send(self, P_ISN, PKT_SYN, syn_nots, sizeof(syn_nots), NULL, 0));
	EXPECT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no SYN-ACK");
	EXPECT_EQ(PKT_SYN | PKT_ACK, w.h.flags);
	EXPECT_EQ(iss, w.h.seq);
	EXPECT_EQ(P_ISN + 1, w.h.ack);
	EXPECT_EQ(PEER_ST_SYN_RECV, peer_state(proto, P_LPORT, P_PORT));
	self->c.ack = iss + 1;
	return iss;
}

/*
 * The next segment that is not @skip (flags) within @ms, the skipped ones
 * counted in *@skipped: 1 and @w, or 0.
 */
static int raw_recv_skip(FIXTURE_DATA(rawpeer) *self, int ms, uint8_t skip, int *skipped,
			 struct wseg *w)
{
	long end = pkt_now_ms() + ms;
	int r;

	*skipped = 0;
	while ((r = raw_recv(self, end - pkt_now_ms() > 0 ? end - pkt_now_ms() : 0, w)) == 1) {
		if (w->h.flags != skip)
			return 1;
		(*skipped)++;
	}
	return r;
}

/*
 * shutdown(SHUT_WR) in SYN_RECV after a simultaneous open: TCP's
 * tcp_shutdown() takes ESTABLISHED, SYN_SENT and CLOSE_WAIT only, so no
 * FIN goes; the SYN-ACK is sent again until the peer acknowledges it, and
 * then the FIN goes (tcp_rcv_state_process(): ESTABLISHED, then
 * tcp_shutdown() again): FIN_WAIT1.  ESTP sent the FIN at once and then
 * only the FIN (review M7 of part C).
 */
TEST_F_TIMEOUT(rawpeer, simopen_shutdown_sends_no_fin, 60)
{
	struct wseg w;
	uint32_t iss;

	iss = raw_simopen(_metadata, self, variant->proto);
	ASSERT_FALSE(_metadata->exit_code) TH_LOG("no simultaneous open");
	ASSERT_EQ(0, shutdown(self->afd, SHUT_WR));
	ASSERT_EQ(1, raw_recv(self, 2 * ANSWER_MS, &w)) TH_LOG("nothing sent");
	EXPECT_EQ(PKT_SYN | PKT_ACK, w.h.flags);
	EXPECT_EQ(iss, w.h.seq);
	EXPECT_EQ(P_ISN + 1, w.h.ack);
	EXPECT_EQ(PEER_ST_SYN_RECV, peer_state(variant->proto, P_LPORT, P_PORT));
	/* The peer acknowledges our SYN at last. */
	ASSERT_EQ(0, raw_send(self, P_ISN + 1, PKT_ACK, NULL, 0, NULL, 0));
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no FIN");
	EXPECT_EQ(PKT_FIN | PKT_ACK, w.h.flags);
	EXPECT_EQ(iss + 1, w.h.seq);
	EXPECT_EQ(P_ISN + 1, w.h.ack);
	EXPECT_EQ(4, peer_state(variant->proto, P_LPORT, P_PORT)) TH_LOG("not FIN_WAIT1");
	EXPECT_EQ(-1, send(self->afd, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
}

/*
 * close() in SYN_RECV after a simultaneous open (tcp_close_state():
 * FIN_WAIT1 with a FIN): the FIN goes, and the retransmit timer then sends
 * the SYN-ACK, the head of the retransmission queue, not the FIN
 * (tcp_retransmit_timer()).  An ACK of both ends FIN_WAIT1.  ESTP resent
 * only the FIN, which a peer that lost our SYN drops.
 */
TEST_F_TIMEOUT(rawpeer, simopen_close_resends_syn, 60)
{
	struct wseg w;
	int fins = 0;
	uint32_t iss;

	iss = raw_simopen(_metadata, self, variant->proto);
	ASSERT_FALSE(_metadata->exit_code) TH_LOG("no simultaneous open");
	ASSERT_EQ(0, close(self->afd));
	self->afd = -1;
	ASSERT_EQ(1, raw_recv(self, ANSWER_MS, &w)) TH_LOG("no FIN");
	EXPECT_EQ(PKT_FIN | PKT_ACK, w.h.flags);
	EXPECT_EQ(iss + 1, w.h.seq);
	EXPECT_EQ(P_ISN + 1, w.h.ack);
	ASSERT_EQ(1, raw_recv_skip(self, 3 * ANSWER_MS, PKT_FIN | PKT_ACK, &fins, &w))
		TH_LOG("only %d FINs again", fins);
	TH_LOG("%d FINs before the SYN-ACK", fins);
	EXPECT_EQ(PKT_SYN | PKT_ACK, w.h.flags);
	EXPECT_EQ(iss, w.h.seq);
	EXPECT_EQ(P_ISN + 1, w.h.ack);
	ASSERT_EQ(0, raw_send(self, P_ISN + 1, PKT_ACK, NULL, 0, NULL, 0));
	self->c.ack = iss + 2;
	ASSERT_EQ(0, raw_send(self, P_ISN + 1, PKT_ACK, NULL, 0, NULL, 0));
	EXPECT_EQ(1, peer_wait_rows(variant->proto, P_LPORT, P_PORT, 5, 1, ANSWER_MS))
		TH_LOG("not FIN_WAIT2");
}

/* ---------------------------------------------------------------------- */
/*
 * IP_TOS and IP_TTL on the wire: the TOS and TTL bytes of the IP headers a
 * connection's segments carry, caught over lo in a netns of the test's own.
 * The client's segments carry the client's values; the SYN-ACK and the
 * accepted socket's segments the listener's (which the child inherits).
 */

#define IPH_PORT	21980
#define CLIENT_TOS	0x28	/* DSCP AF11; the ECN bits, TCP's, stay 0 */
#define CLIENT_TTL	33
#define LISTENER_TOS	0x48	/* DSCP AF21 */
#define LISTENER_TTL	44

FIXTURE(iphdr)
{
	int cap;		/* raw socket: every segment of the protocol */
	int lfd, cfd, afd;
	int cport;
};

FIXTURE_VARIANTS_TCP_ESTP(iphdr);

FIXTURE_SETUP(iphdr)
{
	self->cap = self->lfd = self->cfd = self->afd = -1;
	ASSERT_EQ(0, estp_netns_private());
	self->cap = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, variant->proto);
	ASSERT_LE(0, self->cap);
}

FIXTURE_TEARDOWN(iphdr)
{
	estp_close_abort(&self->afd);
	estp_close_abort(&self->cfd);
	estp_close_abort(&self->lfd);
	if (self->cap >= 0)
		close(self->cap);
}

static int set_tos_ttl(int fd, int tos, int ttl)
{
	if (setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)))
		return -1;
	return setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
}

/* What a segment's IP header carried, and which segment it was. */
struct iph_seen {
	int n;
	struct {
		bool from_client;
		uint8_t flags, tos, ttl;
		int paylen;
	} seg[32];
};

/*
 * A connection from a client with CLIENT_TOS/TTL to a listener with
 * LISTENER_TOS/TTL, 5 bytes each way, then every segment the raw socket
 * caught, in order, in @seen.
 */
static void iph_converse(struct __test_metadata *_metadata, FIXTURE_DATA(iphdr) *self,
			 int proto, struct iph_seen *seen)
{
	struct sockaddr_in sin = estp_sin4(LO, IPH_PORT);
	static uint8_t buf[70000];
	struct pkt_seg h;
	char data[8];
	ssize_t n;

	self->lfd = socket(AF_INET, SOCK_STREAM, proto);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, set_tos_ttl(self->lfd, LISTENER_TOS, LISTENER_TTL));
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(self->lfd, 4));
	self->cfd = socket(AF_INET, SOCK_STREAM, proto);
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(0, set_tos_ttl(self->cfd, CLIENT_TOS, CLIENT_TTL));
	ASSERT_EQ(0, connect(self->cfd, (struct sockaddr *)&sin, sizeof(sin)));
	self->cport = estp_local_port(self->cfd);
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
	ASSERT_EQ(5, send(self->cfd, "hello", 5, 0));
	ASSERT_EQ(5, recv(self->afd, data, 5, MSG_WAITALL));
	ASSERT_EQ(5, send(self->afd, "world", 5, 0));
	ASSERT_EQ(5, recv(self->cfd, data, 5, MSG_WAITALL));
	/* The ACKs of the data: quick ACKs, at once; a pause for a delayed one. */
	usleep(QUIET_MS * 1000);
	memset(seen, 0, sizeof(*seen));
	while (seen->n < (int)ARRAY_SIZE(seen->seg) &&
	       (n = recv(self->cap, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if (pkt_parse(buf, n, proto, &h))
			continue;
		if (!(h.sport == self->cport && h.dport == IPH_PORT) &&
		    !(h.sport == IPH_PORT && h.dport == self->cport))
			continue;
		seen->seg[seen->n].from_client = h.sport == self->cport;
		seen->seg[seen->n].flags = h.flags;
		seen->seg[seen->n].tos = buf[1];
		seen->seg[seen->n].ttl = buf[8];
		seen->seg[seen->n].paylen = h.seg_len - h.hdr_len;
		seen->n++;
	}
}

/* The SYN, the final ACK, the client's data and ACKs: the client's TOS and TTL. */
TEST_F(iphdr, client_tos_ttl)
{
	struct iph_seen seen;
	int i, syn = 0, data = 0, acks = 0;

	iph_converse(_metadata, self, variant->proto, &seen);
	for (i = 0; i < seen.n; i++) {
		if (!seen.seg[i].from_client)
			continue;
		syn += !!(seen.seg[i].flags & PKT_SYN);
		data += seen.seg[i].paylen > 0;
		acks += seen.seg[i].flags == PKT_ACK && !seen.seg[i].paylen;
		EXPECT_EQ(CLIENT_TOS, seen.seg[i].tos) TH_LOG("segment %d flags %02x", i,
							      seen.seg[i].flags);
		EXPECT_EQ(CLIENT_TTL, seen.seg[i].ttl) TH_LOG("segment %d flags %02x", i,
							      seen.seg[i].flags);
	}
	EXPECT_EQ(1, syn);
	EXPECT_EQ(1, data);
	EXPECT_LE(1, acks);
}

/* The SYN-ACK: the listener's TOS and TTL. */
TEST_F(iphdr, synack_tos_ttl)
{
	struct iph_seen seen;
	int i, synacks = 0;

	iph_converse(_metadata, self, variant->proto, &seen);
	for (i = 0; i < seen.n; i++) {
		if (seen.seg[i].from_client || !(seen.seg[i].flags & PKT_SYN))
			continue;
		synacks++;
		EXPECT_EQ(LISTENER_TOS, seen.seg[i].tos);
		EXPECT_EQ(LISTENER_TTL, seen.seg[i].ttl);
	}
	EXPECT_EQ(1, synacks);
}

/* The accepted socket's data and ACKs: the listener's TOS and TTL, inherited. */
TEST_F(iphdr, child_tos_ttl)
{
	struct iph_seen seen;
	int i, data = 0, acks = 0;

	iph_converse(_metadata, self, variant->proto, &seen);
	for (i = 0; i < seen.n; i++) {
		if (seen.seg[i].from_client || (seen.seg[i].flags & PKT_SYN))
			continue;
		data += seen.seg[i].paylen > 0;
		acks += seen.seg[i].flags == PKT_ACK && !seen.seg[i].paylen;
		EXPECT_EQ(LISTENER_TOS, seen.seg[i].tos) TH_LOG("segment %d flags %02x", i,
								seen.seg[i].flags);
		EXPECT_EQ(LISTENER_TTL, seen.seg[i].ttl) TH_LOG("segment %d flags %02x", i,
								seen.seg[i].flags);
	}
	EXPECT_EQ(1, data);
	EXPECT_LE(1, acks);
}

TEST_HARNESS_MAIN
